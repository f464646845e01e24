"""Which rate limiter the `[platform]` settings build."""

from __future__ import annotations

import logging

import pytest

from openscope.core.quota import LimitScope, RateLimits
from openscope.ratelimit import InProcessLimiter, RedisLimiter, ShareOf
from openscope.server.platform import build_limiter
from openscope.settings import PlatformSettings
from tests.ratelimit.helpers import demand


def limit_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "openscope.platform" and r.levelno == logging.WARNING
    ]


async def test_replicas_without_redis_count_their_share_and_say_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    limiter = build_limiter(PlatformSettings(replicas=3))
    assert isinstance(limiter, ShareOf)
    [warning] = limit_warnings(caplog)
    assert "platform.replicas = 3" in warning and "1/3" in warning
    key = (LimitScope("key:k|m:q", RateLimits(rpm=30)),)
    answers = [await limiter.admit(key, demand()) for _ in range(11)]
    assert sum(answer.admitted for answer in answers) == 10  # a third of 30, not 30
    await limiter.close()


@pytest.mark.parametrize("replicas", [None, 1])
async def test_one_server_without_redis_counts_the_whole_limits(
    replicas: int | None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    limiter = build_limiter(PlatformSettings(replicas=replicas))
    assert isinstance(limiter, InProcessLimiter)
    assert limit_warnings(caplog) == []


async def test_with_redis_the_replicas_are_the_share_while_it_is_away() -> None:
    limiter = build_limiter(PlatformSettings(redis_url="redis://127.0.0.1:1/0", replicas=3))
    assert isinstance(limiter, RedisLimiter)
    await limiter.close()
