"""What only the Redis limiter does: one decision across replicas, keys that expire, slots
that a dead replica cannot hold forever, and what happens while Redis is away."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid

import pytest

from openscope.core.errors import Overloaded
from openscope.core.quota import Admission, Demand, LimitKind, LimitScope, RateLimits
from openscope.ratelimit import InProcessLimiter, RedisLimiter, budget
from openscope.ratelimit.redis import OVERLOADED_MESSAGE, FallbackTicket, RedisTicket
from tests.ratelimit.helpers import FakeClock, demand, scope
from tests.redis_server import RedisServer


def unique_prefix() -> str:
    return f"test:{uuid.uuid4().hex}:"


class SpyLimiter(InProcessLimiter):
    def __init__(self) -> None:
        super().__init__(FakeClock())
        self.admitted: list[object] = []
        self.settled: list[tuple[object, int]] = []
        self.closed = False

    async def admit(self, scopes: tuple[LimitScope, ...], demand: Demand) -> Admission:
        answer = await super().admit(scopes, demand)
        self.admitted.append(answer.ticket)
        return answer

    async def settle(self, ticket: object, tokens_used: int) -> None:
        self.settled.append((ticket, tokens_used))
        await super().settle(ticket, tokens_used)

    async def close(self) -> None:
        self.closed = True


def outage_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "openscope.ratelimit" and r.levelno == logging.WARNING
    ]


async def test_racing_replicas_admit_exactly_one_call_a_second(redis_server: RedisServer) -> None:
    prefix = unique_prefix()
    replicas = [
        RedisLimiter(redis_server.client(), prefix=prefix, fallback=None, fail_closed=True)
        for _ in range(4)
    ]
    limits = RateLimits(rpm=60).with_implied_per_second()  # rps 1: a bucket of 1
    scopes = (LimitScope("ws:a|m:qwen-plus", limits),)
    try:
        answers = await asyncio.gather(
            *(replica.admit(scopes, demand()) for replica in replicas for _ in range(25))
        )
    finally:
        for replica in replicas:
            await replica.close()
    assert sum(answer.admitted for answer in answers) == 1
    refused = [answer for answer in answers if not answer.admitted]
    assert {answer.refused for answer in refused} == {LimitKind.REQUESTS}
    assert all(0 < answer.retry_after <= 1.0 for answer in refused)


async def test_keys_expire_once_their_bucket_is_full_again(redis_server: RedisServer) -> None:
    prefix = unique_prefix()
    limiter = RedisLimiter(redis_server.client(), prefix=prefix, fallback=None, fail_closed=True)
    raw = redis_server.client()
    try:
        a = scope("a", rpm=600, tpm=6000, max_concurrent=2)  # 0.1 s a request, 10 ms a token
        answer = await limiter.admit((a,), demand(tokens=50))
        assert isinstance(answer.ticket, RedisTicket)
        assert 0 < await raw.pttl(f"{prefix}a:rpm") <= 100
        assert 400 < await raw.pttl(f"{prefix}a:tpm") <= 500
        assert 3_599_000 < await raw.pttl(f"{prefix}a:inflight") <= 3_600_000
        await limiter.settle(answer.ticket, 0)  # a full refund: the bucket is full, key gone
        assert await raw.exists(f"{prefix}a:tpm") == 0
        assert await raw.zcard(f"{prefix}a:inflight") == 0
        await asyncio.sleep(0.15)
        assert await raw.exists(f"{prefix}a:rpm") == 0
    finally:
        await limiter.close()
        await raw.aclose()


async def test_slots_of_calls_never_settled_are_pruned_after_the_slot_ttl(
    redis_server: RedisServer,
) -> None:
    limiter = RedisLimiter(
        redis_server.client(),
        prefix=unique_prefix(),
        fallback=None,
        fail_closed=True,
        slot_ttl=0.3,
    )
    try:
        a = (scope("a", max_concurrent=1),)
        assert (await limiter.admit(a, demand())).admitted  # its replica "dies": never settled
        assert (await limiter.admit(a, demand())).refused is LimitKind.CONCURRENCY
        await asyncio.sleep(0.35)
        assert (await limiter.admit(a, demand())).admitted
    finally:
        await limiter.close()


async def test_fail_closed_refuses_as_overloaded_while_redis_is_down(
    own_redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    limiter = RedisLimiter(
        own_redis_server.client(),
        prefix=unique_prefix(),
        fallback=None,
        fail_closed=True,
        recheck_after=0.0,
    )
    a = (scope("a", rpm=60, max_concurrent=3),)
    try:
        before = await limiter.admit(a, demand())
        own_redis_server.stop()
        for _ in range(3):
            with pytest.raises(Overloaded) as raised:
                await limiter.admit(a, demand())
            assert str(raised.value) == OVERLOADED_MESSAGE
            assert raised.value.retry_after == 1.0
        await limiter.settle(before.ticket, 1)  # kept for later, not raised
        assert (await limiter.admit((scope("free"),), demand())).admitted  # needs no Redis
        assert len(outage_warnings(caplog)) == 1
    finally:
        await limiter.close()


async def test_the_fallback_decides_while_redis_is_down_and_settles_its_own_tickets(
    own_redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    fallback = SpyLimiter()
    limiter = RedisLimiter(
        own_redis_server.client(),
        prefix=unique_prefix(),
        fallback=fallback,
        fail_closed=False,
        recheck_after=0.1,
    )
    a = (scope("a", rpm=2),)
    try:
        via_redis = await limiter.admit(a, demand())
        assert isinstance(via_redis.ticket, RedisTicket)
        own_redis_server.stop()

        answers = [await limiter.admit(a, demand()) for _ in range(3)]
        assert [answer.admitted for answer in answers] == [True, True, False]  # its own count
        assert answers[2].refused is LimitKind.REQUESTS
        assert len(fallback.admitted) == 3
        first = answers[0].ticket
        assert isinstance(first, FallbackTicket)
        await limiter.settle(first, 7)
        assert fallback.settled == [(first.inner, 7)]
        await limiter.settle(via_redis.ticket, 1)  # Redis's own: not the fallback's
        assert len(fallback.settled) == 1
        assert len(outage_warnings(caplog)) == 1

        own_redis_server.start()
        await asyncio.sleep(0.15)
        back = await limiter.admit(a, demand())
        assert isinstance(back.ticket, RedisTicket)
        assert len(fallback.admitted) == 3
        assert outage_warnings(caplog)[-1] == "Rate limits: Redis is reachable again"
    finally:
        await limiter.close()
    assert fallback.closed


async def test_without_a_fallback_failing_open_admits_unlimited(
    own_redis_server: RedisServer,
) -> None:
    limiter = RedisLimiter(
        own_redis_server.client(), prefix=unique_prefix(), fallback=None, fail_closed=False
    )
    try:
        own_redis_server.stop()
        a = (scope("a", rpm=1),)
        answers = [await limiter.admit(a, demand()) for _ in range(3)]
        assert all(answer.admitted for answer in answers)
        await limiter.settle(answers[0].ticket, 1)
    finally:
        await limiter.close()


async def test_settles_that_missed_redis_are_replayed_once_it_is_back(
    own_redis_server: RedisServer,
) -> None:
    limiter = RedisLimiter(
        own_redis_server.client(),
        prefix=unique_prefix(),
        fallback=None,
        fail_closed=True,
        recheck_after=0.0,
    )
    a = (scope("a", max_concurrent=1),)
    try:
        held = await limiter.admit(a, demand())
        assert held.admitted
        own_redis_server.stop(save=True)  # the slot survives the restart
        await limiter.settle(held.ticket, 1)
        own_redis_server.start()
        # Without the replay the slot would stay taken for the slot TTL (an hour).
        assert (await limiter.admit(a, demand())).admitted
    finally:
        await limiter.close()


async def test_a_script_reload_runs_only_the_calls_redis_did_not(redis_server: RedisServer) -> None:
    """An admission whose script Redis has, batched with a settle whose script it lacks:
    the settle is sent again once its script is loaded, the admission is not (it would be
    counted twice)."""
    client = redis_server.client()
    limiter = RedisLimiter(client, prefix=unique_prefix(), fallback=None, fail_closed=True)
    scopes = (LimitScope("key:k|m:q", RateLimits(rpm=10, tpm=1_000)),)
    try:
        await client.script_flush()
        first = await limiter.admit(scopes, Demand(tokens=100))  # loads the admit script only
        second, _ = await asyncio.gather(
            limiter.admit(scopes, Demand(tokens=100)), limiter.settle(first.ticket, 100)
        )
        assert second.admitted
        assert second.requests is not None and second.requests.remaining == 8  # 2 of 10, not 3
        third = await limiter.admit(scopes, Demand(tokens=100))
        assert third.requests is not None and third.requests.remaining == 7
    finally:
        await limiter.close()


async def test_per_second_token_buckets_are_charged_the_prompt_only(
    redis_server: RedisServer,
) -> None:
    limiter = RedisLimiter(
        redis_server.client(), prefix=unique_prefix(), fallback=None, fail_closed=True
    )
    limits = RateLimits(tpm=60_000).with_implied_per_second()  # TPS 1,000
    scopes = (LimitScope("key:k|m:q", limits),)
    try:
        # Each reserves 4,100 tokens of the minute's 60,000 but only its 100-token prompt of
        # the second's 1,000: several run at once.
        answers = [
            await limiter.admit(scopes, Demand(tokens=4_100, per_second_tokens=100))
            for _ in range(5)
        ]
        assert all(answer.admitted for answer in answers)
        for answer in answers:
            await limiter.settle(answer.ticket, 120)
    finally:
        await limiter.close()


async def test_a_day_budget_counts_only_todays_tokens_on_redis_time(
    redis_server: RedisServer,
) -> None:
    """Redis's clock cannot be moved: a budget key left by the previous day stands for a
    day that has passed, and one rewritten for the next day for a settle after midnight."""
    prefix = unique_prefix()
    limiter = RedisLimiter(redis_server.client(), prefix=prefix, fallback=None, fail_closed=True)
    raw = redis_server.client()
    day = (scope("a", tpd=1_000),)
    key = f"{prefix}a:tpd"
    try:
        today = budget.day_of(time.time())
        await raw.set(key, f"{today - 1} 1000")  # yesterday's budget, spent
        first = await limiter.admit(day, demand(tokens=600))
        assert first.admitted
        assert await raw.get(key) == f"{today} 600".encode()
        ttl = await raw.pttl(key) / 1000
        assert ttl == pytest.approx(budget.until_reset(time.time()) + 60, abs=1)
        refused = await limiter.admit(day, demand(tokens=401))
        assert refused.refused is LimitKind.BUDGET
        assert refused.retry_after == pytest.approx(budget.until_reset(time.time()), abs=1)

        await raw.set(key, f"{today + 1} 50", keepttl=True)  # midnight passed meanwhile
        await limiter.settle(first.ticket, 0)  # counted in its own day: changes nothing
        assert await raw.get(key) == f"{today + 1} 50".encode()
    finally:
        await limiter.close()
        await raw.aclose()
