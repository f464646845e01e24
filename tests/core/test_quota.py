"""`RateLimits.divided`: a replica's share of each limit, for replicas that count on their
own (no Redis, or Redis away)."""

from __future__ import annotations

import pytest

from openscope.core.quota import RateLimits

WHOLES = [
    RateLimits(rpm=600, tpm=1_000_000, max_concurrent=5, tpd=10_000_000),
    RateLimits(rpm=60, tpm=100_000, max_concurrent=1, tpd=2),  # Model Studio's snapshots
    RateLimits(rpm=2, tpm=7, max_concurrent=2),  # below one unit each on most replicas
    RateLimits(rpm=61, tpm=1_001, rps=0.5, tps=3.0),  # per-second limits set apart
]


def per_minute_rate(per_minute: int | None, per_second: float | None) -> float:
    """What a set of limits lets through in a steady minute (the tighter of the two)."""
    rates = [float(per_minute)] if per_minute is not None else []
    if per_second is not None:
        rates.append(per_second * 60)
    return min(rates) if rates else float("inf")


@pytest.mark.parametrize("whole", [w.with_implied_per_second() for w in WHOLES] + WHOLES)
@pytest.mark.parametrize("replicas", [1, 2, 3, 7, 10])
def test_the_shares_of_every_replica_sum_to_at_most_the_whole_limit(
    whole: RateLimits, replicas: int
) -> None:
    share = whole.divided(replicas)
    assert whole.rpm is not None and whole.tpm is not None

    def at_most(total: float, limit: float) -> bool:
        return total <= limit * (1 + 1e-12)

    assert at_most(replicas * (share.rpm or 0), whole.rpm)
    assert at_most(replicas * (share.tpm or 0), whole.tpm)
    assert at_most(replicas * per_minute_rate(share.rpm, share.rps), whole.rpm)
    assert at_most(replicas * per_minute_rate(share.tpm, share.tps), whole.tpm)
    if whole.rps is not None:
        assert share.rps is not None and at_most(replicas * share.rps, whole.rps)
    if whole.tps is not None:
        assert share.tps is not None and at_most(replicas * share.tps, whole.tps)
    if whole.max_concurrent is not None:
        assert share.max_concurrent is not None
        assert replicas * share.max_concurrent <= whole.max_concurrent
    if whole.tpd is not None:
        assert share.tpd is not None and replicas * share.tpd <= whole.tpd


def test_a_share_is_the_whole_limit_split_not_rounded_up() -> None:
    whole = RateLimits(rpm=60, tpm=100_000, max_concurrent=4).with_implied_per_second()
    share = whole.divided(3)
    assert (share.rpm, share.tpm, share.max_concurrent) == (20, 33_333, 1)
    assert share.rps == pytest.approx(1 / 3)  # was 1: three replicas let 3 a second through
    assert share.tps == pytest.approx(100_000 / 180)
    assert whole.divided(1) == whole


def test_a_per_minute_share_below_one_unit_is_kept_as_its_rate() -> None:
    share = RateLimits(rpm=2).divided(3)  # two calls a minute among three replicas
    assert share.rpm is None
    assert share.rps == pytest.approx(2 / 180)  # one call every 90 s on each replica
    assert RateLimits(max_concurrent=2).divided(3).max_concurrent == 0
