"""From scopes and a demand to the counters a decision touches, and from the counters' state
back to an answer: shared by the in-process and the Redis limiter, so that both count alike
and only the storage differs.

Per scope: requests per minute (`{key}:rpm`, rate rpm/60 per second, capacity rpm) and per
second (`{key}:rps`, rate rps, capacity max(1, ceil(rps))), the same for tokens (`:tpm`,
`:tps`), a day's token budget (`{key}:tpd`, see `openscope.ratelimit.budget`), and the
calls in flight (`{key}:inflight`). The requests buckets are charged `demand.requests`,
the token buckets and the budget `demand.tokens` (the per-second token buckets: the
prompt). A call is admitted only where its whole cost fits (the per-second token buckets:
where one token does, see `gcra`); a cost no bucket or budget could ever hold is refused
before any state is read (`too_large`). A rate limit of 0 or less is refused loudly
(ValueError) rather than read as "no limit"; a concurrency limit or a day's budget of 0
(a replica's share of one smaller than the replicas, see `RateLimits.divided`) admits
nothing."""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from openscope.core.quota import Allowance, Demand, LimitKind, LimitScope, TooLarge

from . import budget, gcra

CONCURRENCY_RETRY_AFTER = 1.0
"""The retry hint for a call refused for concurrency: when a slot frees is not known."""

# A spent budget first: it is the refusal a client should not simply retry.
_PRECEDENCE = (LimitKind.BUDGET, LimitKind.REQUESTS, LimitKind.TOKENS, LimitKind.CONCURRENCY)


# A plan and its counters are made for every call: named tuples, which cost a fraction
# of a frozen dataclass to make (it sets each field through `object.__setattr__`).


class Counter(NamedTuple):
    """One GCRA bucket of one scope and what this call costs in it. `per_minute` is the
    RPM/TPM figure of a minute bucket (the headers' limit), None on a per-second one.
    `units`: what the bucket must hold for the call to be admitted (the whole cost, but
    one unit on the per-second token buckets)."""

    key: str
    kind: LimitKind
    bucket: gcra.Bucket
    cost: int
    per_minute: int | None
    units: int


@dataclass(frozen=True, slots=True)
class Budget:
    """One scope's tokens per UTC day and what this call reserves in it."""

    key: str
    limit: int
    cost: int


@dataclass(frozen=True, slots=True)
class Slot:
    """One scope's count of calls in flight and its limit."""

    key: str
    limit: int


class Plan(NamedTuple):
    counters: tuple[Counter, ...]
    slots: tuple[Slot, ...]
    budgets: tuple[Budget, ...]
    token_counters: tuple[Counter, ...]  # the buckets a settle adjusts

    @property
    def empty(self) -> bool:
        return not self.counters and not self.slots and not self.budgets


def per_second_capacity(rate: float) -> float:
    return max(1.0, math.ceil(rate))


# One counter of a scope, before a demand gives it its cost: key, kind, bucket, per minute,
# and whether it is a per-second token bucket (charged only the prompt at admission).
_Shape = tuple[str, LimitKind, gcra.Bucket, int | None, bool]


@functools.lru_cache(maxsize=4096)
def _shapes(scope: LimitScope) -> tuple[tuple[_Shape, ...], Slot | None]:
    """A scope's buckets and slot: the same for every call of a scope, so made once."""
    limits = scope.limits
    shapes: list[_Shape] = []
    for kind, per_minute, per_second, minute_name, second_name in (
        (LimitKind.REQUESTS, limits.rpm, limits.rps, "rpm", "rps"),
        (LimitKind.TOKENS, limits.tpm, limits.tps, "tpm", "tps"),
    ):
        if per_minute is not None:
            bucket = gcra.Bucket(rate=per_minute / 60, capacity=per_minute)
            shapes.append((f"{scope.key}:{minute_name}", kind, bucket, per_minute, False))
        if per_second is not None:
            bucket = gcra.Bucket(rate=per_second, capacity=per_second_capacity(per_second))
            per_second_tokens = kind is LimitKind.TOKENS
            shapes.append((f"{scope.key}:{second_name}", kind, bucket, None, per_second_tokens))
    slot = None
    if limits.max_concurrent is not None:
        slot = Slot(key=f"{scope.key}:inflight", limit=limits.max_concurrent)
    return tuple(shapes), slot


def plan(scopes: Sequence[LimitScope], demand: Demand) -> Plan:
    counters: list[Counter] = []
    tokens: list[Counter] = []
    slots: list[Slot] = []
    budgets: list[Budget] = []
    requests = demand.requests
    per_second = demand.tokens if demand.per_second_tokens is None else demand.per_second_tokens
    for scope in scopes:
        shapes, slot = _shapes(scope)
        for key, kind, bucket, per_minute, per_second_tokens in shapes:
            if kind is LimitKind.REQUESTS:
                counters.append(Counter(key, kind, bucket, requests, per_minute, requests))
                continue
            if per_second_tokens:
                counter = Counter(key, kind, bucket, per_second, None, min(per_second, 1))
            else:
                counter = Counter(key, kind, bucket, demand.tokens, per_minute, demand.tokens)
            counters.append(counter)
            tokens.append(counter)
        if slot is not None:
            slots.append(slot)
        if scope.limits.tpd is not None:
            if scope.limits.tpd < 0:
                raise ValueError(f"a day's token budget cannot be negative: {scope.limits.tpd}")
            budgets.append(Budget(f"{scope.key}:tpd", scope.limits.tpd, demand.tokens))
    return Plan(tuple(counters), tuple(slots), tuple(budgets), tuple(tokens))


def too_large(plan: Plan) -> tuple[LimitKind, TooLarge] | None:
    """A bucket or budget the call costs more in than it can ever hold: no wait would let
    it pass, so it is refused before anything is read or charged."""
    for budget_ in plan.budgets:
        if budget_.cost > budget_.limit:
            return LimitKind.BUDGET, TooLarge(budget_.limit, budget_.cost, "tokens", "day")
    for counter in plan.counters:
        if counter.units > counter.bucket.capacity:
            unit = "requests" if counter.kind is LimitKind.REQUESTS else "tokens"
            if counter.per_minute is not None:
                return counter.kind, TooLarge(counter.per_minute, counter.cost, unit, "minute")
            limit = math.floor(counter.bucket.capacity)
            return counter.kind, TooLarge(limit, counter.cost, unit, "second")
    return None


def refusal(
    plan: Plan,
    tats: Sequence[float],
    conforming: Sequence[bool],
    slots_free: Sequence[bool],
    now: float,
    budgets_fit: Sequence[bool] = (),
) -> tuple[LimitKind, float] | None:
    """Which kind refused the call (a spent budget before requests before tokens before
    concurrency) and in how many seconds it would pass: the longest wait of every refusing
    bucket (a call refused for requests and for tokens passes only once both have room), the
    next UTC midnight for a spent budget, at least the concurrency hint when a slot is short
    too. None: the call conforms everywhere."""
    refused: set[LimitKind] = set()
    wait = 0.0
    for counter, tat, ok in zip(plan.counters, tats, conforming, strict=True):
        if not ok:
            refused.add(counter.kind)
            # The store judged it; a float round trip may put the recomputed wait at 0.
            wait = max(wait, gcra.retry_after(counter.bucket, tat, now, counter.units), 1e-3)
    if not all(budgets_fit):
        refused.add(LimitKind.BUDGET)
        wait = max(wait, budget.until_reset(now))
    if not all(slots_free):
        refused.add(LimitKind.CONCURRENCY)
        wait = max(wait, CONCURRENCY_RETRY_AFTER)
    for kind in _PRECEDENCE:
        if kind in refused:
            return kind, wait
    return None


def allowances(
    plan: Plan, tats: Sequence[float], now: float
) -> tuple[Allowance | None, Allowance | None]:
    """The requests and the tokens allowance of the tightest scope (least remaining, then
    the longest reset), from the per-minute buckets; None for a kind no scope limits."""
    # (remaining, -reset, limit) of the tightest bucket so far, per kind; the figures are
    # `gcra.allowance`'s, an `Allowance` made only for the two that are told.
    requests: tuple[int, float, int] | None = None
    tokens: tuple[int, float, int] | None = None
    for counter, tat in zip(plan.counters, tats, strict=True):
        limit = counter.per_minute
        if limit is None:
            continue
        left = gcra.remaining(counter.bucket, tat, now)
        figure = (limit if left > limit else left, now - tat if tat > now else -0.0, limit)
        if counter.kind is LimitKind.REQUESTS:
            if requests is None or figure[:2] < requests[:2]:
                requests = figure
        elif tokens is None or figure[:2] < tokens[:2]:
            tokens = figure
    return (
        None if requests is None else Allowance(requests[2], requests[0], -requests[1]),
        None if tokens is None else Allowance(tokens[2], tokens[0], -tokens[1]),
    )
