"""API-key authentication. Keys come in `Authorization: Bearer <key>` (OpenAI SDK) or
`x-api-key` (Anthropic SDK); both are accepted on every route. A valid key yields the
caller, a `Principal`, left on `request.state.principal`; a key without the scope a route
needs is refused with 403."""

from __future__ import annotations

from fastapi import Request
from opentelemetry.trace import Tracer

from openscope.core.errors import AuthenticationFailed, PermissionDenied
from openscope.core.principal import Principal
from openscope.server.keys import KeyDirectory

NO_KEY = "No API-key provided."
BAD_KEY = "Incorrect API key provided. "
NO_SCOPE = "The API key has no permission for this operation."


def presented_key(request: Request) -> str | None:
    authorization = request.headers.get("authorization")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    key = request.headers.get("x-api-key")
    return key.strip() if key and key.strip() else None


class ApiKeyAuth:
    """A route dependency: the caller, who must hold `scope`. With a `tracer`, the lookup
    is the request's `auth` span."""

    def __init__(self, directory: KeyDirectory, scope: str, tracer: Tracer | None = None) -> None:
        self._directory = directory
        self._scope = scope
        self._tracer = tracer

    async def __call__(self, request: Request) -> Principal:
        if self._tracer is None:
            return await self._authenticate(request)
        with self._tracer.start_as_current_span("auth") as span:
            principal = await self._authenticate(request)
            span.set_attributes(
                {"openscope.key_id": principal.key_id, "openscope.workspace": principal.workspace}
            )
            return principal

    async def _authenticate(self, request: Request) -> Principal:
        key = presented_key(request)
        if key is None:
            raise AuthenticationFailed(NO_KEY)
        principal = await self._directory.principal(key)
        if principal is None:
            raise AuthenticationFailed(BAD_KEY)
        request.state.principal = principal
        if self._scope not in principal.scopes:
            raise PermissionDenied(NO_SCOPE)
        return principal
