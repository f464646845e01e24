"""The HTTP status of each error kind, as Model Studio's compatible mode answers: every API
uses this table, and a protocol states only where it differs (Anthropic's 529)."""

from __future__ import annotations

from types import MappingProxyType

from openscope.core.errors import ErrorKind

HTTP_STATUS = MappingProxyType(
    {
        ErrorKind.INVALID_PARAMETER: 400,
        ErrorKind.AUTHENTICATION: 401,
        ErrorKind.PERMISSION: 403,
        ErrorKind.NOT_FOUND: 404,
        ErrorKind.MODEL_NOT_FOUND: 404,
        ErrorKind.REQUEST_TOO_LARGE: 413,
        ErrorKind.RATE_LIMITED: 429,
        ErrorKind.OVERLOADED: 503,
        ErrorKind.INTERNAL: 500,
    }
)
