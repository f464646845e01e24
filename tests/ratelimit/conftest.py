"""A real redis-server for the Redis limiter's tests: one shared by the behavioural tests (each
test counts under its own key prefix), and one per test for those that stop the server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.redis_server import NEEDS_REDIS, REDIS_SERVER, RedisServer


def _server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    if REDIS_SERVER is None:
        pytest.skip(NEEDS_REDIS)
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    yield from _server(tmp_path_factory)


@pytest.fixture
def own_redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A server this test alone uses, free to stop it."""
    yield from _server(tmp_path_factory)
