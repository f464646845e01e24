"""API-key authentication. Keys come in `Authorization: Bearer <key>` (OpenAI SDK) or
`x-api-key` (Anthropic SDK); both are accepted on every route. A valid key yields the
caller, a `Principal`: today every configured key belongs to the `default` workspace."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

from fastapi import Request

from openscope.core.errors import AuthenticationFailed
from openscope.core.principal import DEFAULT_WORKSPACE, Principal

# What a configured key may do: call the models and keep state in its workspace.
CONFIGURED_KEY_SCOPES = frozenset({"inference", "state"})


def key_id(key: bytes) -> str:
    """A name for a key that logs and records may show: a digest prefix, never the key."""
    return "key-" + hashlib.sha256(key).hexdigest()[:12]


NO_KEY = "No API-key provided."
BAD_KEY = "Incorrect API key provided. "


def presented_key(request: Request) -> str | None:
    authorization = request.headers.get("authorization")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    key = request.headers.get("x-api-key")
    return key.strip() if key and key.strip() else None


class ApiKeyAuth:
    def __init__(self, keys: Iterable[str]) -> None:
        self._keys = [k.encode() for k in keys]
        self._principals = [
            Principal(key_id(k), DEFAULT_WORKSPACE, CONFIGURED_KEY_SCOPES) for k in self._keys
        ]

    async def __call__(self, request: Request) -> Principal:
        key = presented_key(request)
        if key is None:
            raise AuthenticationFailed(NO_KEY)
        given = key.encode()
        # compare against every key so timing says nothing about which one came close
        matches = [hmac.compare_digest(given, k) for k in self._keys]
        if not any(matches):
            raise AuthenticationFailed(BAD_KEY)
        principal = self._principals[matches.index(True)]
        request.state.principal = principal
        return principal
