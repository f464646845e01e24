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


def go_duration(seconds: float) -> str:
    """`seconds` as Go's time.Duration prints it ("12ms", "1.5s", "6m0s")."""
    if seconds < 1:
        return f"{math.ceil(seconds * 1000)}ms"
    minutes, rest = divmod(seconds, 60)
    rest = math.ceil(rest * 1000) / 1000
    text = f"{rest:.3f}".rstrip("0").rstrip(".") + "s"
    if minutes >= 60:
        hours, minutes = divmod(minutes, 60)
        return f"{int(hours)}h{int(minutes)}m{text}"
    return f"{int(minutes)}m{text}" if minutes else text


def openai_limit_headers(requests: Allowance | None, tokens: Allowance | None) -> dict[str, str]:
    headers = {}
    for name, allowance in (("requests", requests), ("tokens", tokens)):
        if allowance is not None:
            headers[f"x-ratelimit-limit-{name}"] = str(allowance.limit)
            headers[f"x-ratelimit-remaining-{name}"] = str(allowance.remaining)
            headers[f"x-ratelimit-reset-{name}"] = go_duration(allowance.reset)
    return headers


def anthropic_limit_headers(
    requests: Allowance | None, tokens: Allowance | None, *, now: float | None = None
) -> dict[str, str]:
    now = time.time() if now is None else now
    headers = {}
    for name, allowance in (("requests", requests), ("tokens", tokens)):
        if allowance is not None:
            reset = datetime.fromtimestamp(math.ceil(now + allowance.reset), UTC)
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
        headers["retry-after"] = str(retry_after_seconds(retry_after))
        headers["retry-after-ms"] = str(max(1, math.ceil(retry_after * 1000)))
    if isinstance(error, RateLimited):
        headers.update(limit_headers(error.requests, error.tokens))
        if not error.should_retry:
            headers["x-should-retry"] = "false"
    return headers
