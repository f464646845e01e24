"""`ShareOf`: replicas counting on their own, each against its share, let through at
most the whole limit between them."""

from __future__ import annotations

from openscope.core.quota import LimitScope, RateLimits
from openscope.ratelimit import InProcessLimiter, ShareOf
from tests.ratelimit.helpers import FakeClock, demand


async def test_three_replicas_sharing_a_60_rpm_key_let_60_through_a_minute() -> None:
    clock = FakeClock(0.0)
    replicas = [ShareOf(InProcessLimiter(clock), 3, while_away=False) for _ in range(3)]
    key = (LimitScope("key:k|m:q", RateLimits(rpm=60).with_implied_per_second()),)
    passed = 0
    for step in range(600):  # a call to each replica every 100 ms for a minute
        clock.now = step / 10
        for replica in replicas:
            answer = await replica.admit(key, demand())
            if answer.admitted:
                passed += 1
                await replica.settle(answer.ticket, 1)
    assert passed == 60  # not 120: a share of RPS 1 is 1/3, not rounded up to 1


async def test_a_concurrency_limit_is_shared_and_freed_on_settle() -> None:
    clock = FakeClock()
    replicas = [ShareOf(InProcessLimiter(clock), 2, while_away=False) for _ in range(2)]
    key = (LimitScope("key:k|m:q", RateLimits(max_concurrent=3)),)
    held = [await replica.admit(key, demand()) for replica in replicas for _ in range(2)]
    assert [answer.admitted for answer in held] == [True, False, True, False]  # 1 + 1 of 3
    await replicas[0].settle(held[0].ticket, 1)
    assert (await replicas[0].admit(key, demand())).admitted


async def test_too_large_is_judged_against_the_whole_limit_not_a_share() -> None:
    # 100,000 TPM over 3 replicas: a 40,000-token call fits the whole limit but not a
    # replica's 33,333, and one of 150,000 fits neither.
    key = (LimitScope("key:k|m:q", RateLimits(tpm=100_000)),)
    for_good = ShareOf(InProcessLimiter(FakeClock()), 3, while_away=False)
    away = ShareOf(InProcessLimiter(FakeClock()), 3, while_away=True)
    share_only = await away.admit(key, demand(tokens=40_000))
    assert not share_only.admitted
    assert share_only.too_large is None  # retryable: the store will be back
    assert share_only.retry_after > 0
    replica_limit = await for_good.admit(key, demand(tokens=40_000))
    assert replica_limit.too_large is not None  # this replica's own limit, for good
    assert replica_limit.too_large.limit == 33_333
    for limiter in (for_good, away):
        whole = await limiter.admit(key, demand(tokens=150_000))
        assert whole.too_large is not None
        assert whole.too_large.limit == 100_000
