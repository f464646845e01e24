"""GCRA over one bucket: pure arithmetic, no I/O, no clock of its own.

A bucket refills at `rate` units per second up to `capacity` units. Its whole state is one
number, the TAT (theoretical arrival time, seconds on the store's clock): the bucket is full
whenever `TAT <= now`, and every unit taken pushes the TAT one emission interval `T = 1/rate`
further. A unit is available iff `now >= TAT - tau` with the tolerance `tau = T*(capacity-1)`.

A call that must find `units` units in the bucket conforms iff `now >= TAT - tau + T*(units-1)`:
the bucket would still be within its capacity after taking them. The plan asks for the whole
cost of a call (a minute's or a day's bucket can never go into debt at admission, so one
large call cannot hold a shared bucket for everyone after it) except on a per-second token
bucket, which is smaller than many prompts: there one unit is asked for and the call may
leave the bucket in debt (it smooths a second, the minute's bucket caps). A cost above the
capacity never conforms; the plan refuses such a call before asking. The Redis script
(`openscope.ratelimit.redis`) does the same arithmetic."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from openscope.core.quota import Allowance

EPSILON = 1e-6
"""Seconds of slack in comparisons, so that float rounding does not refuse a call that is
due exactly now: a TAT near a Unix-epoch clock reading (1.8e9 s) carries up to ~2.4e-7 s of
noise (Redis's TIME, and the in-process limiter's wall clock, are such readings)."""


@dataclass(frozen=True, slots=True)
class Bucket:
    """`rate` units per second, at most `capacity` units banked; `interval` is T, the
    seconds one unit takes to come back (kept, not derived: every decision reads it)."""

    rate: float
    capacity: float
    interval: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.rate > 0:
            raise ValueError(f"a bucket's rate must be positive, not {self.rate!r}")
        if not self.capacity >= 1:
            raise ValueError(f"a bucket's capacity must be at least 1, not {self.capacity!r}")
        object.__setattr__(self, "interval", 1.0 / self.rate)

    @property
    def tolerance(self) -> float:
        """tau: how far ahead of `now` the TAT may run while one unit is still available."""
        return self.interval * (self.capacity - 1)


def slack(bucket: Bucket, units: float) -> float:
    """How far ahead of `now` the TAT may run while `units` units are still available
    (`tau` for one unit); negative when the bucket can never hold that many."""
    return bucket.interval * (bucket.capacity - units)


def conforms(bucket: Bucket, tat: float, now: float, units: float = 1) -> bool:
    """Whether the bucket holds `units` units now."""
    # (`max` and `slack` written out: this runs for every bucket of every call)
    debt = tat - now if tat > now else 0.0
    return debt <= bucket.interval * (bucket.capacity - units) + EPSILON


def retry_after(bucket: Bucket, tat: float, now: float, units: float = 1) -> float:
    """Seconds until the bucket holds `units` units (0 if it does now; `units` at most the
    capacity, else never)."""
    if conforms(bucket, tat, now, units):
        return 0.0
    return tat - slack(bucket, units) - now


def charge(bucket: Bucket, tat: float, now: float, cost: float) -> float:
    """The TAT after taking `cost` units (the caller has checked `conforms`)."""
    return (tat if tat > now else now) + bucket.interval * cost


def settle(bucket: Bucket, tat: float, now: float, delta: float) -> float:
    """The TAT after charging (`delta` > 0) or refunding (`delta` < 0) units once the actual
    cost is known. A charge counts from now if the bucket has refilled meanwhile; a refund
    never banks more than a full bucket."""
    if delta >= 0:
        return max(tat, now) + bucket.interval * delta
    return max(now, tat + bucket.interval * delta)


UNIT_SLACK = 1e-3
"""Units of slack when whole units are counted: a TAT minus an epoch clock reading carries
~2.4e-7 s of float noise, which a short interval (a 1,000,000 TPM bucket's is 6e-5 s) turns
into ~4e-3 of a unit; a unit that is there must not count one short (one counted a
thousandth early is harmless in a header)."""


def remaining(bucket: Bucket, tat: float, now: float) -> int:
    """Whole units the bucket could still take now, in [0, capacity]."""
    debt = tat - now if tat > now else 0.0
    units = math.floor(bucket.capacity - debt * bucket.rate + UNIT_SLACK)
    whole = int(bucket.capacity)
    return 0 if units < 0 else whole if units > whole else units


def allowance(bucket: Bucket, tat: float, now: float, limit: int) -> Allowance:
    """The headers' figures for a per-minute bucket: its limit (RPM or TPM), what it could
    take now (clamped to [0, limit]) and seconds until it is full again."""
    left = remaining(bucket, tat, now)
    return Allowance(
        limit=limit,
        remaining=limit if left > limit else left,
        reset=tat - now if tat > now else 0.0,
    )
