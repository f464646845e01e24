"""What only the in-process limiter can show: long runs on a fake clock, and its memory."""

import asyncio

import pytest

from openscope.core.quota import Demand, LimitKind, LimitScope, RateLimits
from openscope.ratelimit import InProcessLimiter
from tests.ratelimit.helpers import FakeClock, demand, scope


async def test_at_the_implied_per_second_limit_exactly_that_many_pass_each_second() -> None:
    clock = FakeClock(0.0)
    limiter = InProcessLimiter(clock)
    limits = RateLimits(rpm=300, tpm=30_000).with_implied_per_second()  # 5 rps, 500 tps
    a = (scope("a", **limits.as_dict()),)
    passed = [0] * 100
    for step in range(100 * 100):  # a call of 50 tokens every 10 ms for 100 s
        clock.now = step / 100
        answer = await limiter.admit(a, demand(tokens=50))
        if answer.admitted:
            passed[int(clock.now)] += 1
            await limiter.settle(answer.ticket, 50)
        else:
            assert answer.refused is LimitKind.REQUESTS
    assert passed[0] == 5 + 4  # a full second's burst, then one every 0.2 s
    assert passed[1:] == [5] * 99


async def test_calls_racing_on_one_event_loop_are_admitted_once() -> None:
    limiter = InProcessLimiter(FakeClock())
    a = (scope("a", rpm=60, rps=1),)
    answers = await asyncio.gather(*(limiter.admit(a, demand()) for _ in range(50)))
    assert sum(answer.admitted for answer in answers) == 1


async def test_full_buckets_and_idle_gauges_are_forgotten() -> None:
    clock = FakeClock()
    limiter = InProcessLimiter(clock, sweep_above=10)
    tickets = [
        (await limiter.admit((scope(f"old{i}", rpm=60, max_concurrent=1),), demand())).ticket
        for i in range(30)
    ]
    for ticket in tickets:
        await limiter.settle(ticket, 1)
    assert limiter._in_flight == {}
    clock.advance(120)  # every old bucket is full again
    for i in range(20):
        await limiter.admit((scope(f"new{i}", rpm=60),), demand())
    assert len(limiter._tats) <= 20
    assert all(key.startswith("new") for key in limiter._tats)


async def test_a_refund_to_a_full_bucket_leaves_nothing_behind() -> None:
    limiter = InProcessLimiter(FakeClock())
    answer = await limiter.admit((scope("a", tpm=600),), demand(tokens=100))
    await limiter.settle(answer.ticket, 0)
    assert limiter._tats == {}


async def test_a_ticket_from_another_in_process_limiter_is_refused() -> None:
    ours, theirs = InProcessLimiter(FakeClock()), InProcessLimiter(FakeClock())
    answer = await theirs.admit((scope("a", rpm=1),), demand())
    with pytest.raises(TypeError):
        await ours.settle(answer.ticket, 1)


async def test_per_second_token_buckets_are_charged_the_prompt_then_the_rest() -> None:
    clock = FakeClock()
    limiter = InProcessLimiter(clock)
    scopes = (LimitScope("key:k|m:q", RateLimits(tpm=60_000).with_implied_per_second()),)
    held = [
        await limiter.admit(scopes, Demand(tokens=4_100, per_second_tokens=100)) for _ in range(5)
    ]
    assert all(answer.admitted for answer in held)
    for answer in held:
        await limiter.settle(answer.ticket, 400)  # 300 more each on the second's bucket
    # 5 x 400 = 2,000 on a 1,000-a-second bucket: in debt for about a second
    refused = await limiter.admit(scopes, Demand(tokens=4_100, per_second_tokens=100))
    assert not refused.admitted and 0.9 < refused.retry_after < 1.01


MIDNIGHT = 20_000 * 86_400.0  # 0:00 UTC on a day in 2024


async def test_a_day_budget_is_whole_again_at_midnight_utc_not_a_token_at_a_time() -> None:
    clock = FakeClock(MIDNIGHT - 100)
    limiter = InProcessLimiter(clock)
    day = (scope("a", tpd=86_400),)  # a continuous refill would give back one token a second
    assert (await limiter.admit(day, demand(tokens=86_000))).admitted
    refused = await limiter.admit(day, demand(tokens=1_000))
    assert (refused.refused, refused.retry_after) == (LimitKind.BUDGET, pytest.approx(100.0))
    clock.advance(99.9)
    assert (await limiter.admit(day, demand(tokens=500))).refused is LimitKind.BUDGET
    clock.advance(0.1)
    assert (await limiter.admit(day, demand(tokens=86_400))).admitted
    refused = await limiter.admit(day, demand(tokens=1))
    assert refused.retry_after == pytest.approx(86_400.0)


async def test_a_call_settled_after_midnight_leaves_the_new_days_budget_alone() -> None:
    clock = FakeClock(MIDNIGHT - 10)
    limiter = InProcessLimiter(clock)
    day = (scope("a", tpd=1_000),)
    refunded = await limiter.admit(day, demand(tokens=600))
    charged = await limiter.admit(day, demand(tokens=100))
    clock.advance(20)
    assert (await limiter.admit(day, demand(tokens=500))).admitted
    await limiter.settle(refunded.ticket, 0)  # would free 600 of today's had it counted
    await limiter.settle(charged.ticket, 900)  # would charge 800 to today's
    assert (await limiter.admit(day, demand(tokens=500))).admitted
    assert (await limiter.admit(day, demand(tokens=1))).refused is LimitKind.BUDGET


async def test_budgets_of_past_days_are_forgotten() -> None:
    clock = FakeClock(MIDNIGHT - 10)
    limiter = InProcessLimiter(clock, sweep_above=10)
    for i in range(20):
        await limiter.admit((scope(f"old{i}", tpd=100),), demand(tokens=1))
    clock.advance(20)
    for i in range(20):
        await limiter.admit((scope(f"new{i}", tpd=100),), demand(tokens=1))
    assert all(key.startswith("new") for key in limiter._budgets)
