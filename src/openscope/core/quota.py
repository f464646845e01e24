"""Rate limits as the platform applies them: what a limit is, which scopes a call is counted
in, what it asks for, and what a limiter answers. The limiters themselves (in-process and
Redis) are in `openscope.ratelimit`; the admit stage asks them and the meter stage settles.

Model Studio's rule: every model has a per-minute limit on requests (RPM) and on tokens
(TPM), and an implied per-second limit, RPS = RPM/60 and TPS = TPM/60, so that a burst
inside one second is throttled even while the minute's total is fine."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, fields, replace
from enum import StrEnum
from typing import NamedTuple, Protocol


class LimitKind(StrEnum):
    """What ran out: each answers with its own 429 (see `core.errors.rate_limited`)."""

    REQUESTS = "requests"  # RPM or RPS: Model Studio's `limit_requests`
    TOKENS = "tokens"  # TPM or TPS: Model Studio's `insufficient_quota`
    CONCURRENCY = "concurrency"  # requests in flight at once: `limit_burst_rate`
    BUDGET = "budget"  # tokens per UTC day: `insufficient_quota`, and the SDKs should not retry


@dataclass(frozen=True, slots=True)
class RateLimits:
    """One scope's limits on one model; None is no limit (a limit, when set, is above 0).
    `rps`/`tps` unset are implied
    from `rpm`/`tpm` (see `with_implied_per_second`)."""

    rpm: int | None = None
    tpm: int | None = None
    rps: float | None = None
    tps: float | None = None
    max_concurrent: int | None = None
    tpd: int | None = None  # tokens per UTC day: a budget, not a rate

    def over(self, base: RateLimits) -> RateLimits:
        """These limits where set, `base`'s elsewhere."""
        if base.empty:
            return self
        return RateLimits(
            rpm=base.rpm if self.rpm is None else self.rpm,
            tpm=base.tpm if self.tpm is None else self.tpm,
            rps=base.rps if self.rps is None else self.rps,
            tps=base.tps if self.tps is None else self.tps,
            max_concurrent=base.max_concurrent
            if self.max_concurrent is None
            else self.max_concurrent,
            tpd=base.tpd if self.tpd is None else self.tpd,
        )

    def with_implied_per_second(self) -> RateLimits:
        """Model Studio's implied RPS = RPM/60 and TPS = TPM/60, where not set apart."""
        return replace(
            self,
            rps=self.rps if self.rps is not None else (self.rpm / 60 if self.rpm else None),
            tps=self.tps if self.tps is not None else (self.tpm / 60 if self.tpm else None),
        )

    def divided(self, parts: int) -> RateLimits:
        """One replica's share when `parts` replicas each count on their own: summed over
        the replicas, no share exceeds the whole limit. Per-second rates are split exactly
        (a GCRA bucket takes a fractional rate and still holds one whole call); a
        per-minute limit is split in whole units, and where a replica's share is below
        one unit a minute it is kept as the per-second rate it stands for instead of
        being rounded up to 1 (which would multiply it by `parts`). A concurrency limit or
        a day's budget smaller than `parts` leaves a share of 0: that replica admits no
        call of the scope, rather than each admitting one."""

        def share(whole: float | None) -> float | None:
            return None if whole is None else whole / parts

        def per_minute(
            whole: int | None, per_second: float | None
        ) -> tuple[int | None, float | None]:
            second = share(per_second)
            if whole is None or whole >= parts:
                return (None if whole is None else whole // parts), second
            rate = whole / 60 / parts
            return None, rate if second is None else min(second, rate)

        rpm, rps = per_minute(self.rpm, self.rps)
        tpm, tps = per_minute(self.tpm, self.tps)
        return RateLimits(
            rpm=rpm,
            tpm=tpm,
            rps=rps,
            tps=tps,
            max_concurrent=None if self.max_concurrent is None else self.max_concurrent // parts,
            tpd=None if self.tpd is None else self.tpd // parts,
        )

    @property
    def empty(self) -> bool:
        return (
            self.rpm is None
            and self.tpm is None
            and self.rps is None
            and self.tps is None
            and self.max_concurrent is None
            and self.tpd is None
        )

    def as_dict(self) -> dict[str, int | float]:
        return {
            f.name: getattr(self, f.name)
            for f in fields(RateLimits)
            if getattr(self, f.name) is not None
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> RateLimits:
        known = {f.name for f in fields(RateLimits)}
        return cls(**{k: v for k, v in data.items() if k in known})  # type: ignore[arg-type]


ANY_MODEL = "*"
"""The model name under which a scope's limits for every model are kept."""


def limits_for(table: Mapping[str, RateLimits], model: str) -> RateLimits:
    """A limits table's entry for `model` over its `*` entry."""
    own = table.get(model, RateLimits())
    return own.over(table.get(ANY_MODEL, RateLimits()))


@dataclass(frozen=True, slots=True)
class LimitScope:
    """One set of counters a call is counted in: `key` names it stably across replicas
    (e.g. `ws:team-a|m:qwen-plus`), `limits` are its limits (per-second ones filled in)."""

    key: str
    limits: RateLimits


@dataclass(frozen=True, slots=True)
class Demand:
    """What a call asks for at admission: one request, and the tokens reserved for it (its
    prompt and the most it may generate), settled to what it used when it ends."""

    tokens: int
    requests: int = 1
    # What the per-second token buckets (TPS) are charged at admission: the prompt alone
    # (a second's bucket cannot hold a whole reservation: a call reserving more than a
    # second's tokens would hold the bucket until it settles). None: `tokens`.
    per_second_tokens: int | None = None


# Allowance and Admission are made for every limited call: named tuples, which cost a
# fraction of a frozen dataclass to make (it sets each field through object.__setattr__).


class Allowance(NamedTuple):
    """How much of one kind (requests or tokens per minute) the tightest scope has left,
    for the `x-ratelimit-*` headers: `reset` is seconds until its bucket is full again."""

    limit: int
    remaining: int
    reset: float


@dataclass(frozen=True, slots=True)
class TooLarge:
    """A call that costs more in one scope than its limit ever lets through at once (a
    reservation above a minute's TPM, a day's budget, ...): `requested` `unit`s against
    `limit` per `per` ("second", "minute" or "day")."""

    limit: int
    requested: int
    unit: str
    per: str


class Admission(NamedTuple):
    """A limiter's answer. Admitted: `ticket` is passed back to `settle` exactly once.
    Refused: `refused` says which kind ran out and `retry_after` (seconds) when the call
    would be admitted; `too_large` is set instead when no wait would ever admit it.
    `requests`/`tokens` feed the headers on either answer."""

    admitted: bool
    ticket: object | None = None
    refused: LimitKind | None = None
    retry_after: float = 0.0
    requests: Allowance | None = None
    tokens: Allowance | None = None
    too_large: TooLarge | None = None


class RateLimiter(Protocol):
    # Whether its answers cross the network (Redis): then a call's settle is sent beside its
    # answer rather than before its end; an in-process settle is as cheap done at once.
    remote: bool

    def admit(self, scopes: tuple[LimitScope, ...], demand: Demand) -> Awaitable[Admission]:
        """Admit the call in every scope or in none (all-or-nothing): the requests and the
        reserved tokens are counted, and a concurrency slot taken, in each scope. (An
        `async def`, or a method that sends the question at once and returns a future.)"""
        ...

    def settle(self, ticket: object, tokens_used: int) -> Awaitable[None]:
        """The call has ended having used `tokens_used` tokens: charge or refund the
        difference from its reservation, and free its concurrency slots. Callers shield it
        from cancellation: a settle cut short would keep the slots taken. (An `async def`,
        or a method that starts the settle at once and returns a future: a remote limiter's
        settle then needs no task of its own.)"""
        ...

    async def close(self) -> None: ...


def retry_after_seconds(retry_after: float) -> int:
    """`retry-after` in whole seconds, never 0 for a refusal."""
    return max(1, math.ceil(retry_after))
