"""The GCRA arithmetic over one bucket, and the plan of buckets a scope makes."""

import math

import pytest

from openscope.core.quota import Allowance, Demand, LimitKind, LimitScope, RateLimits, TooLarge
from openscope.ratelimit import gcra
from openscope.ratelimit.plan import allowances, plan, refusal, too_large
from tests.ratelimit.helpers import demand, scope


def take(bucket: gcra.Bucket, tat: float, now: float, cost: float = 1) -> float | None:
    """The new TAT if the call conforms, else None."""
    return gcra.charge(bucket, tat, now, cost) if gcra.conforms(bucket, tat, now) else None


def test_a_full_bucket_passes_its_capacity_at_once_then_refuses_with_the_exact_wait() -> None:
    bucket = gcra.Bucket(rate=2.0, capacity=4)  # T = 0.5 s, tau = 1.5 s
    tat, now = 0.0, 100.0
    for _ in range(4):
        new = take(bucket, tat, now)
        assert new is not None
        tat = new
    assert tat == 102.0
    assert take(bucket, tat, now) is None
    assert gcra.retry_after(bucket, tat, now) == pytest.approx(0.5)
    assert take(bucket, tat, now + 0.49) is None
    assert take(bucket, tat, now + 0.5) is not None


def test_over_a_long_run_exactly_rate_per_second_pass() -> None:
    bucket = gcra.Bucket(rate=5.0, capacity=5)
    tat, passed = 0.0, [0] * 60
    for step in range(60 * 100):  # a call every 10 ms for a minute
        now = step / 100
        new = take(bucket, tat, now)
        if new is not None:
            tat = new
            passed[int(now)] += 1
    assert passed[0] == 5 + 4  # the burst, then one every 0.2 s from 0.2 s on
    assert passed[1:] == [5] * 59


def test_a_call_costing_more_than_the_capacity_passes_an_idle_bucket_and_then_the_debt_waits() -> (
    None
):
    bucket = gcra.Bucket(rate=1.0, capacity=10)
    tat = take(bucket, 0.0, 50.0, cost=25)
    assert tat == 75.0
    assert not gcra.conforms(bucket, tat, 50.0)
    assert gcra.retry_after(bucket, tat, 50.0) == pytest.approx(16.0)  # 75 - 9 - 50
    assert gcra.remaining(bucket, tat, 50.0) == 0


def test_asking_one_unit_lets_a_call_of_any_cost_into_debt() -> None:
    bucket = gcra.Bucket(rate=1.0, capacity=10)
    tat = 59.0  # one unit left at 50
    assert take(bucket, tat, 50.0, cost=100) == 159.0


def test_a_call_needing_several_units_waits_until_the_bucket_holds_them_all() -> None:
    bucket = gcra.Bucket(rate=1.0, capacity=10)
    tat, now = 55.0, 50.0  # 5 units left
    assert gcra.conforms(bucket, tat, now, units=5)
    assert not gcra.conforms(bucket, tat, now, units=6)
    assert gcra.retry_after(bucket, tat, now, units=6) == pytest.approx(1.0)
    assert gcra.conforms(bucket, tat, now + 1.0, units=6)
    assert gcra.conforms(bucket, 0.0, now, units=10)  # a full bucket holds its capacity
    assert not gcra.conforms(bucket, 0.0, now, units=11)  # and never more


def test_the_whole_cost_is_asked_of_every_bucket_but_a_seconds_tokens() -> None:
    limits = RateLimits(rpm=60, tpm=6_000, tpd=10_000).with_implied_per_second()
    made = plan((LimitScope("a", limits),), Demand(tokens=700, per_second_tokens=300))
    assert [(c.key, c.units) for c in made.counters] == [
        ("a:rpm", 1),
        ("a:rps", 1),
        ("a:tpm", 700),
        ("a:tps", 1),  # a second's bucket (100) is smaller than many prompts: it smooths
    ]
    assert [(b.key, b.limit, b.cost) for b in made.budgets] == [("a:tpd", 10_000, 700)]
    assert too_large(made) is None
    over = plan((LimitScope("a", limits),), Demand(tokens=6_001, per_second_tokens=300))
    assert too_large(over) == (
        LimitKind.TOKENS,
        TooLarge(limit=6_000, requested=6_001, unit="tokens", per="minute"),
    )


def test_settle_charges_from_now_and_refunds_no_further_than_a_full_bucket() -> None:
    bucket = gcra.Bucket(rate=10.0, capacity=100)  # T = 0.1
    assert gcra.settle(bucket, 20.0, 10.0, 50) == pytest.approx(25.0)
    assert gcra.settle(bucket, 5.0, 10.0, 50) == pytest.approx(15.0)  # refilled meanwhile
    assert gcra.settle(bucket, 20.0, 10.0, -30) == pytest.approx(17.0)
    assert gcra.settle(bucket, 20.0, 10.0, -1000) == 10.0
    assert gcra.settle(bucket, 20.0, 10.0, 0) == 20.0


def test_allowance_counts_what_the_bucket_could_take_now_and_when_it_is_full() -> None:
    bucket = gcra.Bucket(rate=1.0, capacity=60)
    assert gcra.allowance(bucket, 0.0, 10.0, 60) == Allowance(limit=60, remaining=60, reset=0.0)
    assert gcra.allowance(bucket, 25.5, 10.0, 60) == Allowance(limit=60, remaining=44, reset=15.5)
    assert gcra.allowance(bucket, 200.0, 10.0, 60) == Allowance(limit=60, remaining=0, reset=190.0)


def test_a_bucket_needs_a_positive_rate_and_a_capacity_of_one() -> None:
    with pytest.raises(ValueError):
        gcra.Bucket(rate=0.0, capacity=1)
    with pytest.raises(ValueError):
        gcra.Bucket(rate=1.0, capacity=0.5)


def test_a_scope_makes_a_minute_and_a_second_bucket_per_dimension_and_a_gauge() -> None:
    limits = RateLimits(rpm=600, tpm=90_000, max_concurrent=3).with_implied_per_second()
    made = plan((LimitScope("ws:a|m:q", limits),), demand(tokens=700, requests=1))
    assert [(c.key, c.kind, c.cost, c.per_minute) for c in made.counters] == [
        ("ws:a|m:q:rpm", LimitKind.REQUESTS, 1, 600),
        ("ws:a|m:q:rps", LimitKind.REQUESTS, 1, None),
        ("ws:a|m:q:tpm", LimitKind.TOKENS, 700, 90_000),
        ("ws:a|m:q:tps", LimitKind.TOKENS, 700, None),
    ]
    rpm, rps, tpm, tps = (c.bucket for c in made.counters)
    assert (rpm.rate, rpm.capacity) == (10.0, 600)
    assert (rps.rate, rps.capacity) == (10.0, 10)
    assert (tpm.rate, tpm.capacity) == (1500.0, 90_000)
    assert (tps.rate, tps.capacity) == (1500.0, 1500)
    assert [(s.key, s.limit) for s in made.slots] == [("ws:a|m:q:inflight", 3)]
    assert [c.key for c in made.token_counters] == ["ws:a|m:q:tpm", "ws:a|m:q:tps"]


def test_a_slow_per_second_limit_still_holds_one_request() -> None:
    made = plan((scope("s", rps=0.5),), demand())
    assert made.counters[0].bucket.capacity == 1
    made = plan((scope("s", rps=2.5),), demand())
    assert made.counters[0].bucket.capacity == math.ceil(2.5)


def test_a_zero_limit_is_refused_loudly_not_read_as_unlimited() -> None:
    with pytest.raises(ValueError):
        plan((scope("s", rpm=0),), demand())


def test_requests_refusals_come_before_tokens_before_concurrency_and_wait_for_all() -> None:
    made = plan((scope("a", rpm=60, tpm=60, max_concurrent=1),), demand())
    rpm, tpm = (c.bucket for c in made.counters)
    now = 0.0
    tats = [now + 1.0 + rpm.tolerance + 2.0, now + tpm.tolerance + 5.0]  # waits 3 s and 5 s
    assert refusal(made, tats, [False, False], [False], now) == (
        LimitKind.REQUESTS,
        pytest.approx(5.0),
    )
    assert refusal(made, tats, [True, False], [False], now) == (LimitKind.TOKENS, pytest.approx(5))
    assert refusal(made, tats, [True, True], [False], now) == (LimitKind.CONCURRENCY, 1.0)
    assert refusal(made, tats, [True, True], [True], now) is None


def test_the_tightest_scope_gives_the_allowance() -> None:
    made = plan((scope("a", rpm=10, tpm=1000), scope("b", rpm=100, tpm=100)), demand(50))
    # a: 9 of 10 requests, 950 of 1000 tokens left; b: 99 of 100, 50 of 100.
    tats = [6.0, 3.0, 0.6, 30.0]
    requests, tokens = allowances(made, tats, 0.0)
    assert requests == Allowance(limit=10, remaining=9, reset=6.0)
    assert tokens == Allowance(limit=100, remaining=50, reset=30.0)
    assert allowances(plan((scope("c", max_concurrent=2),), demand()), [], 0.0) == (None, None)
