"""Who is calling: the identity authentication yields and every call carries, so that state,
limits and usage can belong to someone."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from openscope.core.quota import RateLimits

DEFAULT_WORKSPACE = "default"


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller. `key_id` names the API key without revealing it; stored
    responses and conversations belong to `workspace`, and one workspace never sees
    another's; `scopes` say what the key may do. `models` are the models it may call
    (None: every one the server serves); `key_limits` and `workspace_limits` are its own
    and its workspace's rate limits, by model or `*`."""

    key_id: str
    workspace: str = DEFAULT_WORKSPACE
    scopes: frozenset[str] = frozenset()
    models: frozenset[str] | None = None
    key_limits: Mapping[str, RateLimits] = field(default_factory=dict)
    workspace_limits: Mapping[str, RateLimits] = field(default_factory=dict)

    def may_call(self, model: str) -> bool:
        return self.models is None or model in self.models
