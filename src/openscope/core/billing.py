"""Billing: what one finished request is charged, by Model Studio's cache rules, and the
shapes the usage ledger is read back in. Pure functions and plain data; the store keeps the
records, the meter stage makes them.

Model Studio counts every input token inside `input_tokens`, the ones read from a cache
(`cached_tokens`) and the ones written to one (`cache_creation_tokens`) included. The two
cache modes are exclusive per request and priced apart
(https://www.alibabacloud.com/help/model-studio/context-cache):

    explicit or session cache (cache_type "ephemeral"): creation 125 %, hit 10 %
    implicit cache (cache_type None):                   creation 100 %, hit 20 %
    uncached input:                                     100 %

Reasoning tokens are counted inside `output_tokens` and priced as output."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from openscope.core.events import Usage

EXPLICIT_CACHE = "ephemeral"
EXPLICIT_CREATION_RATE = 1.25
EXPLICIT_HIT_RATE = 0.10
IMPLICIT_CREATION_RATE = 1.0
IMPLICIT_HIT_RATE = 0.20

PER_PRICE_UNIT = 1_000_000  # prices are per million tokens

OK = "ok"
CANCELLED = "cancelled"  # the client hung up before the end
"""A record's status: OK, CANCELLED, or the error code the client was told."""
# The status of the hourly rows' requests that failed before the rollup kept statuses
# (migration 0005) and whose events were gone: not ok, but which code is not known.
STATUS_NOT_KEPT = "failed_code_not_kept"


@dataclass(frozen=True, slots=True)
class Price:
    """A model's prices per million tokens (settings' `[platform.prices]`, without core
    depending on settings)."""

    input: float
    output: float


def billed_input_tokens(usage: Usage) -> float:
    """The input tokens as billed: each cached or cache-creation token at its rate, the
    rest at 100 %. A backend that reports more cache tokens than input tokens is trusted on
    the cache tokens; the uncached remainder does not go below zero."""
    explicit = usage.cache_type == EXPLICIT_CACHE
    creation_rate = EXPLICIT_CREATION_RATE if explicit else IMPLICIT_CREATION_RATE
    hit_rate = EXPLICIT_HIT_RATE if explicit else IMPLICIT_HIT_RATE
    uncached = max(0, usage.input_tokens - usage.cached_tokens - usage.cache_creation_tokens)
    return uncached + usage.cache_creation_tokens * creation_rate + usage.cached_tokens * hit_rate


def cost(usage: Usage, price: Price | None) -> float:
    """What the request costs at `price`; 0 for a model without one."""
    if price is None:
        return 0.0
    return (
        billed_input_tokens(usage) * price.input + usage.output_tokens * price.output
    ) / PER_PRICE_UNIT


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """One finished request, as the ledger keeps it (`usage_events`, never updated).
    `created_at_ms` is when the request started, in ms since the epoch; `latency_ms` how
    long it ran; `ttft_ms` how long until its first content (None: it had none);
    `builtin_tools` the built-in tool calls it made, by tool kind."""

    request_id: str
    created_at_ms: int
    workspace: str
    key_id: str
    model: str
    api: str
    status: str
    input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    cached_tokens: int = 0
    cache_creation_tokens: int = 0
    cache_type: str | None = None
    builtin_tools: Mapping[str, int] = field(default_factory=dict)
    latency_ms: int = 0
    ttft_ms: int | None = None
    billed_input_tokens: float = 0.0
    cost: float = 0.0

    @property
    def usage(self) -> Usage:
        return Usage(
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            cached_tokens=self.cached_tokens,
            cache_creation_tokens=self.cache_creation_tokens,
            reasoning_tokens=self.reasoning_tokens,
            cache_type=self.cache_type,
        )


def usage_record(
    *,
    request_id: str,
    created_at_ms: int,
    workspace: str,
    key_id: str,
    model: str,
    api: str,
    status: str,
    usage: Usage,
    price: Price | None,
    builtin_tools: Mapping[str, int] | None = None,
    latency_ms: int = 0,
    ttft_ms: int | None = None,
) -> UsageRecord:
    """A record of `usage`, billed at `price`."""
    return UsageRecord(
        request_id=request_id,
        created_at_ms=created_at_ms,
        workspace=workspace,
        key_id=key_id,
        model=model,
        api=api,
        status=status,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        reasoning_tokens=usage.reasoning_tokens,
        cached_tokens=usage.cached_tokens,
        cache_creation_tokens=usage.cache_creation_tokens,
        cache_type=usage.cache_type,
        builtin_tools=dict(builtin_tools or {}),
        latency_ms=latency_ms,
        ttft_ms=ttft_ms,
        billed_input_tokens=billed_input_tokens(usage),
        cost=cost(usage, price),
    )


# Reading the ledger back, in the shape of OpenAI's usage API (buckets of results).

GroupField = Literal["workspace", "key_id", "model", "api", "status"]
GROUP_FIELDS: tuple[GroupField, ...] = ("workspace", "key_id", "model", "api", "status")
BucketWidth = Literal["1h", "1d"]
BUCKET_SECONDS: dict[str, int] = {"1h": 3600, "1d": 86400}


@dataclass(frozen=True, slots=True)
class UsageTotals:
    """The sums over one group of one bucket. A group field is None unless the query
    grouped by it. `errors` counts the requests whose status is not "ok" (cancelled ones
    included): grouped by status, all of a result's requests or none."""

    workspace: str | None = None
    key_id: str | None = None
    model: str | None = None
    api: str | None = None
    status: str | None = None
    requests: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    cached_tokens: int = 0
    cache_creation_tokens: int = 0
    billed_input_tokens: float = 0.0
    cost: float = 0.0


@dataclass(frozen=True, slots=True)
class UsageBucket:
    """[start, end) in seconds since the epoch, on the bucket width's UTC boundaries; no
    results when nothing was used in it."""

    start: int
    end: int
    results: tuple[UsageTotals, ...] = ()


@dataclass(frozen=True, slots=True)
class UsagePage:
    """Buckets in time order. `has_more`: the range goes on past the last bucket (the
    limit cut it); `next_start` is then where the next page starts."""

    buckets: tuple[UsageBucket, ...]
    has_more: bool = False
    next_start: int | None = None
