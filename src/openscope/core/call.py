"""`Call`: one generation as the engine's pipeline sees it, from decode to the backend."""

from __future__ import annotations

from dataclasses import dataclass

from openscope.core.principal import Principal
from openscope.core.request import GenerateRequest
from openscope.core.turns import Turn


@dataclass(frozen=True, slots=True)
class Call:
    """Who asks (`principal`), what to generate (`request`), whether the answer is
    streamed, and by when it must have ended (`deadline`, on `time.monotonic()`'s clock;
    None: no deadline of the server's own). `turn` is set for a Responses turn: where its
    history comes from and how it is kept; its `request` is the same as `request` until a
    stage rewrites the latter (the record stage puts the history in). `request_id` is the
    id the client is told (the ledger's key); `api` names the protocol it came in by
    ("chat", "responses", "anthropic")."""

    principal: Principal
    request: GenerateRequest
    stream: bool
    deadline: float | None = None
    turn: Turn | None = None
    request_id: str = ""
    api: str = ""
