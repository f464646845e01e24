"""Replicas of one upstream: affinity by prefix, failover before the first byte only, and a
circuit breaker that rests a failing replica and lets it back in."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from openscope.backends.openai_upstream import UpstreamBackend
from openscope.backends.openai_upstream.options import UpstreamOptions
from openscope.backends.openai_upstream.replicas import IMBALANCE, Replica, ReplicaPool
from openscope.backends.openai_upstream.transport import TransportError
from openscope.core.errors import InvalidParameter, Overloaded, RateLimited
from openscope.core.fold import fold
from openscope.core.messages import Message, Role, TextPart
from openscope.core.request import GenerateRequest
from tests.backends.openai_upstream.fakes import FakeTransport, Reply, delta, sse, usage_chunk

A, B = "http://a.test/v1", "http://b.test/v1"
ANSWER = sse(delta(content="Hello"), delta(finish="stop"), usage_chunk(3, 1))


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def two_replicas(
    transport: FakeTransport, clock: Clock | None = None, **options: Any
) -> UpstreamBackend:
    settings = UpstreamOptions.model_validate(
        {"deployments": [{"url": A}, {"url": B}], "dialect": "vllm", **options}
    )
    return UpstreamBackend(settings, transport=transport, clock=clock or Clock())


def ask(text: str, system: str = "You help.") -> GenerateRequest:
    messages = (Message(Role.SYSTEM, (TextPart(system),)), Message(Role.USER, (TextPart(text),)))
    return GenerateRequest(model="m", messages=messages)


async def answer(up: UpstreamBackend, request: GenerateRequest) -> str:
    return fold([e async for e in up.generate(request, "m")]).choices[0].message.text


def hosts(fake: FakeTransport) -> list[str]:
    return [url.split("/")[2] for url, _, _ in fake.sent]


async def test_one_conversation_keeps_to_one_replica() -> None:
    fake = FakeTransport(*(Reply(lines=ANSWER) for _ in range(6)))
    up = two_replicas(fake)
    first = ask("Question one")
    for turn in range(3):
        # later turns repeat the first two messages, so they hash the same way
        later = GenerateRequest(
            model="m",
            messages=(
                *first.messages,
                Message(Role.ASSISTANT, (TextPart("ok"),)),
                *ask(f"more {turn}").messages[1:],
            ),
        )
        await answer(up, later if turn else first)
    assert len(set(hosts(fake))) == 1


def test_different_prefixes_spread_over_the_replicas() -> None:
    pool = ReplicaPool([Replica(A, {}), Replica(B, {})])
    firsts = {pool.order(f"system prompt {n}".encode())[0].url for n in range(40)}
    assert firsts == {A, B}


def test_affinity_gives_way_to_load_past_the_imbalance() -> None:
    a, b = Replica(A, {}), Replica(B, {})
    pool = ReplicaPool([a, b])
    key = next(f"k{n}".encode() for n in range(100) if pool.order(f"k{n}".encode())[0] is a)
    a.outstanding = IMBALANCE
    assert pool.order(key)[0] is a  # still within the bound
    a.outstanding = IMBALANCE + 1
    assert pool.order(key)[0] is b


async def test_a_replica_down_before_the_first_byte_is_skipped() -> None:
    fake = FakeTransport(TransportError("ClientConnectorError: refused"), Reply(lines=ANSWER))
    up = two_replicas(fake)
    assert await answer(up, ask("hi")) == "Hello"
    assert len(set(hosts(fake))) == 2  # the second replica served it


async def test_a_retryable_status_moves_to_the_next_replica_but_a_400_does_not() -> None:
    fake = FakeTransport(Reply(status=503), Reply(lines=ANSWER))
    assert await answer(two_replicas(fake), ask("hi")) == "Hello"
    fake = FakeTransport(Reply(status=400, lines=[b'{"error": {"message": "bad"}}']))
    with pytest.raises(InvalidParameter):
        await answer(two_replicas(fake), ask("hi"))
    assert len(fake.sent) == 1


async def test_when_every_replica_limits_the_client_gets_the_rate_limit() -> None:
    limited = {"Retry-After": "30"}
    fake = FakeTransport(Reply(status=429, headers=limited), Reply(status=429, headers=limited))
    with pytest.raises(RateLimited) as caught:
        await answer(two_replicas(fake), ask("hi"))
    assert caught.value.retry_after == 30.0


async def test_after_the_first_byte_there_is_no_second_attempt() -> None:
    fake = FakeTransport(
        Reply(lines=sse(delta(content="Hel"), done=False), cut=True), Reply(lines=ANSWER)
    )
    seen = []
    with pytest.raises(Overloaded):
        async for event in two_replicas(fake).generate(ask("hi"), "m"):
            seen.append(event)
    assert len(fake.sent) == 1  # never sent again: the client would see the text twice
    assert fold(seen).choices[0].message.text == "Hel"


async def test_a_failing_replica_rests_then_comes_back() -> None:
    clock = Clock()
    down = [TransportError("refused") for _ in range(3)]
    # each request tries the failing replica first (same prefix), then the other
    fake = FakeTransport(*(item for d in down for item in (d, Reply(lines=ANSWER))))
    up = two_replicas(fake, clock, failures_to_open=3, cooldown_seconds=10)
    for _ in range(3):
        await answer(up, ask("hi"))
    failing = next(r for r in up.replicas if r.failures)
    assert failing.open_until == clock.now + 10
    fake.replies = [Reply(lines=ANSWER)]
    await answer(up, ask("hi"))
    assert hosts(fake)[-1] != failing.url.split("/")[2]  # rested
    clock.now += 11
    fake.replies = [Reply(lines=ANSWER)]
    await answer(up, ask("hi"))
    assert hosts(fake)[-1] == failing.url.split("/")[2]  # back, and it served
    assert failing.failures == 0


def test_options_take_a_url_or_deployments() -> None:
    with pytest.raises(ValueError):
        UpstreamOptions.model_validate({"dialect": "vllm"})
    with pytest.raises(ValueError):
        UpstreamOptions.model_validate({"url": A, "deployments": [{"url": B}]})


async def test_health_checks_take_a_replica_out_and_back() -> None:
    clock = Clock()
    fake = FakeTransport()
    up = two_replicas(fake, clock)
    fake.down.add("http://a.test/health")
    await up.check_health(until_next=10)
    assert sorted(fake.checked) == ["http://a.test/health", "http://b.test/health"]
    for n in range(20):  # whatever the prefix, a's requests go to b
        assert up._pool.order(f"k{n}".encode())[0].url == B
    fake.down.clear()
    await up.check_health(until_next=10)
    assert {up._pool.order(f"k{n}".encode())[0].url for n in range(20)} == {A, B}


async def test_health_checks_run_from_start_to_close() -> None:
    fake = FakeTransport()
    up = two_replicas(fake, health_interval_seconds=0.01)
    await up.start()
    await asyncio.sleep(0.05)
    await up.close()
    assert len(fake.checked) >= 2 and fake.closed
    seen = len(fake.checked)
    await asyncio.sleep(0.03)
    assert len(fake.checked) == seen  # stopped


async def test_no_health_checks_where_the_engine_has_no_endpoint() -> None:
    fake = FakeTransport()
    settings = UpstreamOptions.model_validate({"url": A, "dialect": "dashscope"})
    up = UpstreamBackend(settings, transport=fake)
    await up.start()
    await up.close()
    assert fake.checked == []
