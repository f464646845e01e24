"""The Redis limiter's batches and its own connection: the decisions of one loop turn share
one script call yet each gets its own answer or its own error, and the connection speaks
to the database, with the credentials, the client was given."""

from __future__ import annotations

import asyncio
import uuid

import redis.asyncio
from redis.exceptions import ResponseError

from openscope.core.quota import LimitKind
from openscope.ratelimit import RedisLimiter
from openscope.ratelimit.batching import MAX_IN_FLIGHT, Batcher
from openscope.ratelimit.link import ClientLink, Link, link_for
from tests.ratelimit.helpers import demand, scope
from tests.redis_server import RedisServer


def unique_prefix() -> str:
    return f"test:{uuid.uuid4().hex}:"


async def test_one_loop_turn_is_one_script_call(redis_server: RedisServer) -> None:
    limiter = RedisLimiter(
        redis_server.client(), prefix=unique_prefix(), fallback=None, fail_closed=True
    )
    calls = 0
    execute = Batcher._execute

    async def counted(self: Batcher, link: Link, batch: list[object]) -> list[str]:
        nonlocal calls
        calls += 1
        return await execute(self, link, batch)  # type: ignore[arg-type]

    a = (scope("a", rpm=6),)
    try:
        assert (await limiter.admit(a, demand())).admitted  # and Redis has the script
        Batcher._execute = counted  # type: ignore[assignment,method-assign]
        answers = await asyncio.gather(*(limiter.admit(a, demand()) for _ in range(8)))
    finally:
        Batcher._execute = execute  # type: ignore[method-assign]
        await limiter.close()
    assert calls == 1
    assert [answer.admitted for answer in answers] == [True] * 5 + [False] * 3
    assert {answer.refused for answer in answers[5:]} == {LimitKind.REQUESTS}


async def test_a_failing_decision_fails_alone(redis_server: RedisServer) -> None:
    """A gauge key holding a string makes its decision's ZSET commands fail (WRONGTYPE):
    that call gets the error, the others of its batch their answers, and nothing of the
    limiter goes on answering."""
    prefix = unique_prefix()
    raw = redis_server.client()
    limiter = RedisLimiter(redis_server.client(), prefix=prefix, fallback=None, fail_closed=True)
    try:
        await raw.set(f"{prefix}broken:inflight", "not a set")
        broken = (scope("broken", max_concurrent=2),)
        fine = (scope("fine", rpm=60),)
        answers = await asyncio.gather(
            limiter.admit(fine, demand()),
            limiter.admit(broken, demand()),
            limiter.admit(fine, demand()),
            return_exceptions=True,
        )
        assert isinstance(answers[1], ResponseError) and "WRONGTYPE" in str(answers[1])
        assert [a.admitted for a in (answers[0], answers[2])] == [True, True]  # type: ignore[union-attr]
        assert (await limiter.admit(fine, demand())).admitted
    finally:
        await limiter.close()
        await raw.aclose()


async def test_the_link_uses_the_clients_database(redis_server: RedisServer) -> None:
    client = redis.asyncio.Redis(host="127.0.0.1", port=redis_server.port, db=3)
    prefix = unique_prefix()
    limiter = RedisLimiter(client, prefix=prefix, fallback=None, fail_closed=True)
    db0 = redis.asyncio.Redis(host="127.0.0.1", port=redis_server.port, db=0)
    db3 = redis.asyncio.Redis(host="127.0.0.1", port=redis_server.port, db=3)
    try:
        assert (await limiter.admit((scope("a", rpm=60),), demand())).admitted
        assert await db3.exists(f"{prefix}a:rpm") == 1
        assert await db0.exists(f"{prefix}a:rpm") == 0
    finally:
        await limiter.close()
        await db0.aclose()
        await db3.aclose()


async def test_the_link_is_the_clients_own(redis_server: RedisServer) -> None:
    client = redis_server.client()
    link = link_for(client)
    try:
        assert isinstance(link, ClientLink)
        assert await link.call("PING") is True  # the client's own reply parsing
    finally:
        await client.aclose()


class HeldLink:
    """A link whose replies wait until the test lets them go, one event per link."""

    def __init__(self, made: list[HeldLink]) -> None:
        self.go = asyncio.Event()
        self.batches = 0
        made.append(self)

    async def call(self, *args: str | int | bytes) -> bytes:
        self.batches += 1
        await self.go.wait()
        count = len([a for a in args[3:] if isinstance(a, int)]) // 2  # (procedure, #keys)
        return "\n".join(["+ok"] * count).encode()

    async def close(self) -> None:
        return None


async def test_a_batch_in_flight_holds_up_no_other_up_to_the_limit() -> None:
    assert MAX_IN_FLIGHT > 1  # a lone call never waits behind the batch before it
    made: list[HeldLink] = []
    batcher = Batcher(lambda: HeldLink(made), ["return 'ok'"])
    calls = []
    for n in range(MAX_IN_FLIGHT):  # each while the batches before it are still out
        calls.append(batcher.call_nowait(0, [], f"a{n}"))
        await asyncio.sleep(0.01)
        assert len(made) == n + 1  # sent at once, on a link of its own
    waiting = batcher.call_nowait(0, [], "b")
    await asyncio.sleep(0.01)
    assert len(made) == MAX_IN_FLIGHT and not waiting.done()  # waits for a link to be free
    made[0].go.set()
    assert await asyncio.wait_for(calls[0], 1) == "ok"
    assert await asyncio.wait_for(waiting, 1) == "ok"  # went on the link that came back
    assert made[0].batches == 2 and not any(call.done() for call in calls[1:])
    for link in made:
        link.go.set()
    assert await asyncio.wait_for(asyncio.gather(*calls), 1) == ["ok"] * MAX_IN_FLIGHT
    await batcher.close()
