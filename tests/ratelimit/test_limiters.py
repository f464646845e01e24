"""What both limiters do alike: the in-process one on a fake clock, the Redis one against a
real redis-server on Redis's clock (so its waits are checked through `retry_after`, within the
time the test itself takes)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest

from openscope.core.quota import (
    Admission,
    Demand,
    LimitKind,
    LimitScope,
    RateLimiter,
    TooLarge,
)
from openscope.ratelimit import InProcessLimiter, RedisLimiter, budget
from tests.ratelimit.helpers import FakeClock, demand, scope
from tests.redis_server import RedisServer


@dataclass
class Rig:
    limiter: RateLimiter
    sleep: Callable[[float], Awaitable[None]]
    now: Callable[[], float]  # the limiter's clock
    slack: float  # seconds a wait may be short by: the test's own run time on a real clock

    async def admit(self, *scopes: LimitScope, tokens: int = 1) -> Admission:
        return await self.limiter.admit(scopes, Demand(tokens=tokens))

    def about(self, seconds: float) -> object:
        return pytest.approx(seconds, abs=self.slack)


@pytest.fixture(params=["memory", "redis"])
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    if request.param == "memory":
        clock = FakeClock()

        async def sleep(seconds: float) -> None:
            clock.advance(seconds)

        yield Rig(InProcessLimiter(clock), sleep, clock, 1e-6)
        return
    server: RedisServer = request.getfixturevalue("redis_server")
    limiter = RedisLimiter(
        server.client(), prefix=f"test:{uuid.uuid4().hex}:", fallback=None, fail_closed=True
    )
    yield Rig(limiter, asyncio.sleep, time.time, 0.25)  # Redis's TIME: the same clock
    await limiter.close()


async def test_a_burst_of_the_capacity_passes_and_the_next_waits_one_interval(rig: Rig) -> None:
    minute = scope("a", rpm=6)  # one request back every 10 s
    for _ in range(6):
        assert (await rig.admit(minute)).admitted
    refused = await rig.admit(minute)
    assert (refused.admitted, refused.refused) == (False, LimitKind.REQUESTS)
    assert refused.retry_after == rig.about(10.0)
    assert refused.ticket is None

    second = scope("b", rpm=600, rps=2)  # at most 2 at once, one back every 0.5 s
    assert (await rig.admit(second)).admitted
    assert (await rig.admit(second)).admitted
    refused = await rig.admit(second)
    assert refused.refused is LimitKind.REQUESTS
    assert refused.retry_after == rig.about(0.5)
    await rig.sleep(refused.retry_after + 0.01)
    assert (await rig.admit(second)).admitted


async def test_a_refund_lets_the_next_call_in_sooner(rig: Rig) -> None:
    tokens = scope("a", tpm=60)  # one token back a second
    big = await rig.admit(tokens, tokens=60)
    assert big.admitted
    refused = await rig.admit(tokens, tokens=30)
    assert refused.refused is LimitKind.TOKENS
    assert refused.retry_after == rig.about(30.0)  # until 30 of the 60 are back
    await rig.limiter.settle(big.ticket, 30)
    assert (await rig.admit(tokens, tokens=30)).admitted


async def test_extra_usage_pushes_the_next_call_back(rig: Rig) -> None:
    tokens = scope("a", tpm=60)
    small = await rig.admit(tokens, tokens=30)
    await rig.limiter.settle(small.ticket, 100)
    refused = await rig.admit(tokens)
    assert refused.refused is LimitKind.TOKENS
    assert refused.retry_after == rig.about(41.0)  # 100 charged, 59 of tolerance
    assert refused.tokens is not None
    assert (refused.tokens.limit, refused.tokens.remaining) == (60, 0)


async def test_a_call_is_admitted_only_when_the_bucket_holds_its_whole_reservation(
    rig: Rig,
) -> None:
    tokens = scope("a", tpm=600)  # 0.1 s a token
    assert (await rig.admit(tokens, tokens=500)).admitted
    refused = await rig.admit(tokens, tokens=150)  # 100 left: not in debt, yet too few
    assert (refused.refused, refused.too_large) == (LimitKind.TOKENS, None)
    assert refused.retry_after == rig.about(5.0)  # until 150 are back
    admitted = await rig.admit(tokens, tokens=100)  # the refusal took nothing
    assert admitted.admitted
    assert admitted.tokens is not None and admitted.tokens.remaining == 0


async def test_a_call_above_a_limits_capacity_is_refused_as_too_large_and_charges_nothing(
    rig: Rig,
) -> None:
    shared = scope("acct", rpm=10, tpm=1000)
    mine = scope("ws", rpm=10, tpm=100_000, max_concurrent=1)
    refused = await rig.admit(shared, mine, tokens=1001)
    assert (refused.admitted, refused.refused, refused.retry_after) == (
        False,
        LimitKind.TOKENS,
        0.0,
    )
    assert refused.too_large == TooLarge(limit=1000, requested=1001, unit="tokens", per="minute")
    over_a_day = await rig.admit(scope("day", tpd=500), tokens=501)
    assert (over_a_day.refused, over_a_day.too_large) == (
        LimitKind.BUDGET,
        TooLarge(limit=500, requested=501, unit="tokens", per="day"),
    )
    # Neither refusal counted anywhere: both scopes are whole, the slot free.
    whole = await rig.admit(shared, mine, tokens=1000)
    assert whole.admitted
    assert whole.requests is not None and whole.requests.remaining == 9
    assert (await rig.admit(scope("day", tpd=500), tokens=500)).admitted


async def test_a_spent_day_budget_waits_for_midnight_utc_and_is_settled_to_the_tokens_used(
    rig: Rig,
) -> None:
    day = scope("a", tpd=1000)
    first = await rig.admit(day, tokens=600)
    assert first.admitted
    refused = await rig.admit(day, tokens=500)
    assert (refused.refused, refused.too_large) == (LimitKind.BUDGET, None)
    assert refused.retry_after == rig.about(budget.until_reset(rig.now()))
    await rig.limiter.settle(first.ticket, 100)  # 500 of its reservation back
    assert (await rig.admit(day, tokens=500)).admitted
    assert (await rig.admit(day, tokens=401)).refused is LimitKind.BUDGET  # 600 used
    small = await rig.admit(day, tokens=100)
    await rig.limiter.settle(small.ticket, 400)  # 300 more than it reserved
    assert (await rig.admit(day, tokens=1)).refused is LimitKind.BUDGET  # 1000 used


async def test_a_refusal_in_one_scope_changes_nothing_in_the_others(rig: Rig) -> None:
    a = scope("a", rpm=10, tpm=1000, max_concurrent=3)
    strict_requests = scope("b", rpm=1)
    strict_tokens = scope("c", tpm=150)
    assert (await rig.admit(a, strict_requests, tokens=100)).admitted
    assert (await rig.admit(a, strict_tokens, tokens=100)).admitted  # c: 50 left
    for _ in range(3):
        assert (await rig.admit(a, strict_requests, tokens=100)).refused is LimitKind.REQUESTS
        assert (await rig.admit(a, strict_tokens, tokens=100)).refused is LimitKind.TOKENS
    # Only the two admitted calls counted in a: 8 requests and 800 tokens left, 1 slot.
    alone = await rig.admit(a, tokens=100)
    assert alone.admitted
    assert alone.requests is not None and alone.tokens is not None
    assert alone.requests.remaining == 7
    assert alone.tokens.remaining == 700
    assert (await rig.admit(a)).refused is LimitKind.CONCURRENCY


async def test_settling_frees_the_concurrency_slots(rig: Rig) -> None:
    gauge = scope("a", max_concurrent=2)
    other = scope("b", max_concurrent=1)
    first = await rig.admit(gauge, other)
    second = await rig.admit(gauge)
    assert first.admitted and second.admitted
    refused = await rig.admit(gauge)
    assert (refused.refused, refused.retry_after) == (LimitKind.CONCURRENCY, 1.0)
    assert (await rig.admit(other)).refused is LimitKind.CONCURRENCY
    await rig.limiter.settle(first.ticket, 1)
    assert (await rig.admit(gauge)).admitted
    assert (await rig.admit(other)).admitted


async def test_a_second_settle_of_a_ticket_does_nothing(rig: Rig) -> None:
    a = scope("a", tpm=60, max_concurrent=1)
    first = await rig.admit(a, tokens=10)
    await rig.limiter.settle(first.ticket, 40)
    await rig.limiter.settle(first.ticket, 40)  # would charge 30 more and free a slot again
    second = await rig.admit(a, tokens=10)
    assert second.admitted
    assert second.tokens is not None
    assert second.tokens.remaining == 10  # 40 + 10 charged
    assert second.tokens.reset == rig.about(50.0)
    assert (await rig.admit(a)).refused is LimitKind.CONCURRENCY


async def test_the_allowances_are_the_tightest_scopes_figures(rig: Rig) -> None:
    a = scope("a", rpm=10, tpm=1000)
    b = scope("b", rpm=100, tpm=100)
    admitted = await rig.admit(a, b, tokens=50)
    assert admitted.requests is not None and admitted.tokens is not None
    assert (admitted.requests.limit, admitted.requests.remaining) == (10, 9)
    assert admitted.requests.reset == rig.about(6.0)
    assert (admitted.tokens.limit, admitted.tokens.remaining) == (100, 50)
    assert admitted.tokens.reset == rig.about(30.0)

    one = scope("c", rpm=1)
    await rig.admit(one)
    refused = await rig.admit(one)
    assert refused.requests is not None
    assert (refused.requests.limit, refused.requests.remaining) == (1, 0)
    assert refused.requests.reset == rig.about(60.0)
    assert refused.tokens is None

    gauge_only = await rig.admit(scope("d", max_concurrent=5))
    assert (gauge_only.requests, gauge_only.tokens) == (None, None)


async def test_a_call_of_several_requests_is_counted_as_many(rig: Rig) -> None:
    a = scope("a", rpm=5)
    answer = await rig.limiter.admit((a,), demand(tokens=0, requests=3))
    assert answer.requests is not None and answer.requests.remaining == 2


async def test_scopes_without_limits_admit_everything(rig: Rig) -> None:
    free = scope("a")
    tickets = [(await rig.admit(free, tokens=10**9)).ticket for _ in range(3)]
    for ticket in tickets:
        await rig.limiter.settle(ticket, 5)
    assert (await rig.limiter.admit((), demand())).admitted


async def test_a_ticket_of_another_kind_is_refused(rig: Rig) -> None:
    with pytest.raises(TypeError):
        await rig.limiter.settle(object(), 1)
