"""Who is calling: the identity authentication yields and every call carries, so that state,
limits and usage can belong to someone."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_WORKSPACE = "default"


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller. `key_id` names the API key without revealing it; stored
    responses and conversations belong to `workspace`, and one workspace never sees
    another's; `scopes` say what the key may do."""

    key_id: str
    workspace: str = DEFAULT_WORKSPACE
    scopes: frozenset[str] = frozenset()
