"""The admit stage: the caller's models, every scope's limits at once, and a settle on every
path a call can end by (answered, failed, cut short, or abandoned while the limiter was
still being asked)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import pytest

from openscope.core.call import Call
from openscope.core.catalog import ModelSpec, default_catalog
from openscope.core.errors import InvalidParameter, PermissionDenied, RateLimited
from openscope.core.events import (
    Event,
    LimitsChecked,
    PartDelta,
    PartKind,
    PartStart,
    Usage,
    UsageReport,
)
from openscope.core.messages import Message, Role, TextPart
from openscope.core.principal import Principal
from openscope.core.quota import Admission, Demand, LimitScope, RateLimits
from openscope.core.request import GenerateRequest
from openscope.engine.admission import Admissions
from openscope.engine.routing import Route, Router
from openscope.engine.stages.admit import Admit
from openscope.ratelimit import InProcessLimiter

ROUTER = Router(default_catalog(), {"m": Route("b", "m")}, {}, created=1)
REQUEST = GenerateRequest(model="m", messages=(Message(Role.USER, (TextPart("hello there"),)),))


def no_account_limits(model: str, spec: ModelSpec | None) -> RateLimits:
    return RateLimits()


class Spy(InProcessLimiter):
    def __init__(self, *, remote: bool = False, delay: float = 0.0) -> None:
        super().__init__()
        self.remote = remote  # type: ignore[misc]
        self.delay = delay
        self.settled: list[int] = []
        self.demands: list[Demand] = []

    async def admit(self, scopes: tuple[LimitScope, ...], demand: Demand) -> Admission:
        self.demands.append(demand)
        if self.delay:
            await asyncio.sleep(self.delay)
        return await super().admit(scopes, demand)

    async def settle(self, ticket: object, tokens_used: int) -> None:
        self.settled.append(tokens_used)
        await super().settle(ticket, tokens_used)


def caller(**limits: int) -> Principal:
    return Principal("key-a", key_limits={"m": RateLimits(**limits)})  # type: ignore[arg-type]


async def answer(call: Call) -> AsyncGenerator[Event, None]:
    yield UsageReport(Usage(input_tokens=3))
    yield PartStart(0, 0, PartKind.TEXT)
    for word in ("a", "b", "c"):
        yield PartDelta(0, 0, word)
    yield UsageReport(Usage(input_tokens=3, output_tokens=3))


async def failing(call: Call) -> AsyncGenerator[Event, None]:
    yield UsageReport(Usage(input_tokens=3))
    raise InvalidParameter("no")


async def drain(events: AsyncGenerator[Event, None]) -> list[Event]:
    return [event async for event in events]


async def test_a_call_without_limits_passes_straight_through() -> None:
    spy = Spy()
    stage = Admit(ROUTER, Admissions(spy, no_account_limits))
    events = await drain(stage(Call(Principal("key-a"), REQUEST, stream=False), answer))
    assert not any(isinstance(e, LimitsChecked) for e in events)
    assert spy.demands == []


async def test_a_model_outside_the_callers_list_is_refused() -> None:
    stage = Admit(ROUTER, Admissions(Spy(), no_account_limits))
    with pytest.raises(PermissionDenied):
        stage(Call(Principal("key-a", models=frozenset({"x"})), REQUEST, stream=False), answer)


async def test_the_call_is_settled_to_what_it_used() -> None:
    spy = Spy()
    stage = Admit(ROUTER, Admissions(spy, no_account_limits))
    events = await drain(stage(Call(caller(rpm=10, tpm=10_000), REQUEST, stream=False), answer))
    assert isinstance(events[0], LimitsChecked)
    assert spy.settled == [6]
    (demand,) = spy.demands
    assert demand.per_second_tokens is not None and demand.tokens > demand.per_second_tokens


async def test_a_failed_call_is_settled_and_the_error_goes_on() -> None:
    spy = Spy()
    stage = Admit(ROUTER, Admissions(spy, no_account_limits))
    with pytest.raises(InvalidParameter):
        await drain(stage(Call(caller(tpm=10_000), REQUEST, stream=False), failing))
    assert spy.settled == [3]


async def refused_unread(call: Call) -> AsyncGenerator[Event, None]:
    raise InvalidParameter("the image cannot be had")
    yield  # an async generator that refuses before its first event


async def test_a_call_the_backend_refused_unread_is_settled_to_nothing() -> None:
    spy = Spy()
    stage = Admit(ROUTER, Admissions(spy, no_account_limits))
    with pytest.raises(InvalidParameter):
        await drain(stage(Call(caller(tpm=10_000), REQUEST, stream=False), refused_unread))
    assert spy.settled == [0]


async def test_a_call_cut_short_is_settled_for_what_it_got() -> None:
    spy = Spy()
    stage = Admit(ROUTER, Admissions(spy, no_account_limits))
    events = stage(Call(caller(tpm=10_000), REQUEST, stream=True), answer)
    for _ in range(4):  # the limits, the first usage, the part, one delta
        await anext(events)
    await events.aclose()
    assert spy.settled == [3 + 1]


async def test_an_admission_nobody_waits_for_any_more_is_released() -> None:
    spy = Spy(remote=True, delay=0.05)
    admissions = Admissions(spy, no_account_limits)
    stage = Admit(ROUTER, admissions)
    events = stage(Call(caller(max_concurrent=1), REQUEST, stream=True), answer)
    waiting = asyncio.ensure_future(anext(events))
    await asyncio.sleep(0.01)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await asyncio.sleep(0.1)
    await admissions.drain()
    assert spy.settled == [0]
    # and its slot is free again
    assert await drain(stage(Call(caller(max_concurrent=1), REQUEST, stream=False), answer))


async def test_a_refusal_is_model_studios_429() -> None:
    stage = Admit(ROUTER, Admissions(Spy(), no_account_limits))
    await drain(stage(Call(caller(rpm=1), REQUEST, stream=False), answer))
    with pytest.raises(RateLimited) as refused:
        await drain(stage(Call(caller(rpm=1), REQUEST, stream=False), answer))
    assert refused.value.code == "limit_requests"
    assert refused.value.retry_after is not None and refused.value.retry_after > 50
