"""Rate-limit headers: what the tightest limit has left, on every generating response and
on every 429. Model Studio sends none; the SDKs read `retry-after-ms` and `retry-after`
(and sleep exactly that before retrying) and `x-should-retry`, so these are added. The
OpenAI-compatible APIs get OpenAI's `x-ratelimit-*` (resets as Go durations), the
Anthropic-compatible one Anthropic's `anthropic-ratelimit-*` (resets as RFC 3339 times)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC, datetime

from openscope.core.errors import OpenScopeError, RateLimited
from openscope.core.quota import Allowance, retry_after_seconds

LimitHeaders = Callable[[Allowance | None, Allowance | None], dict[str, str]]


def without_noise(seconds: float) -> float:
    """`seconds` to the microsecond: a TAT minus now carries float noise (3.6 s comes out as
    3.6000000000000085), which rounding up would turn into one more millisecond or second."""
    return round(seconds, 6)


def go_duration(seconds: float) -> str:
    """`seconds`, rounded up to the millisecond, as Go's time.Duration prints it ("0s",
    "12ms", "1.5s", "6m0s", "1h0m0s")."""
    ms = math.ceil(without_noise(seconds) * 1000)
    if ms == 0:
        return "0s"
    if ms < 1000:
        return f"{ms}ms"
    minutes, rest = divmod(ms, 60_000)
    text = f"{rest / 1000:.3f}".rstrip("0").rstrip(".") + "s"
    if minutes >= 60:
        hours, minutes = divmod(minutes, 60)
        return f"{hours}h{minutes}m{text}"
    return f"{minutes}m{text}" if minutes else text


# The header names of each kind (limit, remaining, reset), made once: these headers go
# on every response.
OPENAI_NAMES = tuple(
    (f"x-ratelimit-limit-{kind}", f"x-ratelimit-remaining-{kind}", f"x-ratelimit-reset-{kind}")
    for kind in ("requests", "tokens")
)


def openai_limit_headers(requests: Allowance | None, tokens: Allowance | None) -> dict[str, str]:
    headers = {}
    for (limit, remaining, reset), allowance in zip(OPENAI_NAMES, (requests, tokens), strict=True):
        if allowance is not None:
            headers[limit] = str(allowance.limit)
            headers[remaining] = str(allowance.remaining)
            headers[reset] = go_duration(allowance.reset)
    return headers


def anthropic_limit_headers(
    requests: Allowance | None, tokens: Allowance | None, *, now: float | None = None
) -> dict[str, str]:
    now = time.time() if now is None else now
    headers = {}
    for name, allowance in (("requests", requests), ("tokens", tokens)):
        if allowance is not None:
            reset = datetime.fromtimestamp(math.ceil(now + without_noise(allowance.reset)), UTC)
            headers[f"anthropic-ratelimit-{name}-limit"] = str(allowance.limit)
            headers[f"anthropic-ratelimit-{name}-remaining"] = str(allowance.remaining)
            headers[f"anthropic-ratelimit-{name}-reset"] = reset.strftime("%Y-%m-%dT%H:%M:%SZ")
    return headers


def error_headers(error: OpenScopeError, limit_headers: LimitHeaders) -> dict[str, str]:
    """`Retry-After` (and `retry-after-ms`) when the error says when to come back; for a
    rate-limit refusal also the limits and, for a budget, `x-should-retry: false`."""
    headers: dict[str, str] = {}
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None:
        retry_after = without_noise(retry_after)
        headers["retry-after"] = str(retry_after_seconds(retry_after))
        headers["retry-after-ms"] = str(max(1, math.ceil(retry_after * 1000)))
    if isinstance(error, RateLimited):
        headers.update(limit_headers(error.requests, error.tokens))
        if not error.should_retry:
            headers["x-should-retry"] = "false"
    return headers
