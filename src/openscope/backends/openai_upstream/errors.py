"""An upstream's refusals and failures as Model Studio's errors: its 400s pass their message
on; its rate limits, overload and outages become `limit_requests` and `model_unavailable`;
what only the operator can mend (a bad key, an unknown model) is logged in full and answered
with a generic internal error."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import orjson

from openscope.core.errors import (
    INTERNAL_ERROR_MESSAGE,
    RATE_LIMIT_ANSWERS,
    UNAVAILABLE_MESSAGE,
    InternalError,
    InvalidParameter,
    OpenScopeError,
    Overloaded,
    RateLimited,
)
from openscope.core.quota import LimitKind

log = logging.getLogger("openscope.upstream")


def _message(body: bytes) -> str:
    """The message in an engine's error body, whatever its shape: `{"error": {"message"}}`,
    `{"error": "..."}`, `{"detail": ...}`, `{"message": ...}`, a bare JSON string, or text."""
    try:
        data: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body.decode("utf-8", "replace").strip()[:2000]
    if isinstance(data, str):
        return data
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
        for key in ("error", "detail", "message"):
            if isinstance(data.get(key), str):
                return str(data[key])
    return body.decode("utf-8", "replace").strip()[:2000]


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def upstream_error(
    status: int, headers: Mapping[str, str], body: bytes, *, url: str
) -> OpenScopeError:
    message = _message(body)
    if status == 429:
        return RateLimited(
            RATE_LIMIT_ANSWERS[LimitKind.REQUESTS][1],
            retry_after=_retry_after(headers),
        )
    if status in (400, 413, 422):
        return InvalidParameter(message or "The upstream refused the request.")
    if status >= 500:
        log.warning("upstream %s answered %d: %s", url, status, message)
        return Overloaded(UNAVAILABLE_MESSAGE, retry_after=_retry_after(headers))
    log.error("upstream %s answered %d: %s", url, status, message)
    return InternalError(INTERNAL_ERROR_MESSAGE)
