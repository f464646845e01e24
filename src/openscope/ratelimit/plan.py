"""From scopes and a demand to the counters a decision touches, and from the counters' state
back to an answer: shared by the in-process and the Redis limiter, so that both count alike
and only the storage differs.

Per scope: requests per minute (`{key}:rpm`, rate rpm/60 per second, capacity rpm) and per
second (`{key}:rps`, rate rps, capacity max(1, ceil(rps))), the same for tokens (`:tpm`,
`:tps`), a day's token budget (`:tpd`, rate tpd/86400, capacity tpd), and the calls in
flight (`{key}:inflight`). The requests buckets are charged
`demand.requests`, the token buckets `demand.tokens`. A limit of 0 or less is refused
loudly (ValueError) rather than read as "no limit"."""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from openscope.core.quota import Allowance, Demand, LimitKind, LimitScope

from . import gcra

CONCURRENCY_RETRY_AFTER = 1.0
"""The retry hint for a call refused for concurrency: when a slot frees is not known."""

# A spent budget first: it is the refusal a client should not simply retry.
_PRECEDENCE = (LimitKind.BUDGET, LimitKind.REQUESTS, LimitKind.TOKENS, LimitKind.CONCURRENCY)
DAY = 86_400.0
TOKEN_KINDS = frozenset({LimitKind.TOKENS, LimitKind.BUDGET})


@dataclass(frozen=True, slots=True)
class Counter:
    """One GCRA bucket of one scope and what this call costs in it. `per_minute` is the
    RPM/TPM figure of a minute bucket (the headers' limit), None on a per-second one."""

    key: str
    kind: LimitKind
    bucket: gcra.Bucket
    cost: int
    per_minute: int | None = None


@dataclass(frozen=True, slots=True)
class Slot:
    """One scope's count of calls in flight and its limit."""

    key: str
    limit: int


@dataclass(frozen=True, slots=True)
class Plan:
    counters: tuple[Counter, ...]
    slots: tuple[Slot, ...]

    @property
    def token_counters(self) -> tuple[Counter, ...]:
        """The buckets a settle adjusts."""
        return tuple(c for c in self.counters if c.kind in TOKEN_KINDS)


def per_second_capacity(rate: float) -> float:
    return max(1.0, math.ceil(rate))


# One counter of a scope, before a demand gives it its cost: key, kind, bucket, per minute,
# and whether it is a per-second token bucket (charged only the prompt at admission).
_Shape = tuple[str, LimitKind, gcra.Bucket, int | None, bool]


@functools.lru_cache(maxsize=4096)
def _shapes(scope: LimitScope) -> tuple[tuple[_Shape, ...], Slot | None]:
    """A scope's counters and slot: the same for every call of a scope, so made once."""
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
    if limits.tpd is not None:
        bucket = gcra.Bucket(rate=limits.tpd / DAY, capacity=limits.tpd)
        shapes.append((f"{scope.key}:tpd", LimitKind.BUDGET, bucket, None, False))
    slot = None
    if limits.max_concurrent is not None:
        slot = Slot(key=f"{scope.key}:inflight", limit=limits.max_concurrent)
    return tuple(shapes), slot


def plan(scopes: Sequence[LimitScope], demand: Demand) -> Plan:
    counters: list[Counter] = []
    slots: list[Slot] = []
    for scope in scopes:
        shapes, slot = _shapes(scope)
        for key, kind, bucket, per_minute, per_second_tokens in shapes:
            if kind is LimitKind.REQUESTS:
                cost = demand.requests
            elif per_second_tokens and demand.per_second_tokens is not None:
                cost = demand.per_second_tokens
            else:
                cost = demand.tokens
            counters.append(Counter(key, kind, bucket, cost, per_minute))
        if slot is not None:
            slots.append(slot)
    return Plan(counters=tuple(counters), slots=tuple(slots))


def refusal(
    plan: Plan,
    tats: Sequence[float],
    conforming: Sequence[bool],
    slots_free: Sequence[bool],
    now: float,
) -> tuple[LimitKind, float] | None:
    """Which kind refused the call (requests before tokens before concurrency) and in how
    many seconds it would pass: the longest wait of every refusing bucket (a call refused
    for requests and for tokens passes only once both have room), at least the concurrency
    hint when a slot is short too. None: the call conforms everywhere."""
    refused: set[LimitKind] = set()
    wait = 0.0
    for counter, tat, ok in zip(plan.counters, tats, conforming, strict=True):
        if not ok:
            refused.add(counter.kind)
            # The store judged it; a float round trip may put the recomputed wait at 0.
            wait = max(wait, gcra.retry_after(counter.bucket, tat, now), 1e-3)
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
    best: dict[LimitKind, Allowance] = {}
    for counter, tat in zip(plan.counters, tats, strict=True):
        if counter.per_minute is None:
            continue
        figure = gcra.allowance(counter.bucket, tat, now, counter.per_minute)
        held = best.get(counter.kind)
        if held is None or (figure.remaining, -figure.reset) < (held.remaining, -held.reset):
            best[counter.kind] = figure
    return best.get(LimitKind.REQUESTS), best.get(LimitKind.TOKENS)
