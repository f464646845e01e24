"""A consumer never waits forever: it fails when the engine thread is gone, and long
after its own deadline when the engine says nothing. No model is loaded."""

import asyncio
import time

import pytest

from openscope.backends.llamacpp import LlamaCppBackend
from openscope.backends.llamacpp.job import Job
from openscope.backends.llamacpp.prefix_cache import PrefixCache
from openscope.backends.llamacpp.scheduler import STOPPED_MESSAGE, Scheduler
from openscope.core.errors import TIMEOUT_MESSAGE, InternalError
from openscope.core.messages import Message, Role, TextPart
from openscope.core.request import GenerateRequest
from tests.backends.llamacpp.fakes import FakeBatchContext


def scheduler() -> Scheduler:
    return Scheduler(FakeBatchContext(100), PrefixCache(range(4, 8), 0), slots=range(4))


def silent_job(deadline: float | None) -> Job:
    return Job([1, 2, 3], [], lambda items: None, deadline=deadline)


async def test_a_consumer_fails_when_the_engine_thread_is_gone() -> None:
    inbox: asyncio.Queue[list[object]] = asyncio.Queue()
    never_started = scheduler()
    with pytest.raises(InternalError) as caught:
        await LlamaCppBackend()._next_items(inbox, never_started, silent_job(None))
    assert caught.value.message == STOPPED_MESSAGE


async def test_a_consumer_gives_up_long_after_its_deadline() -> None:
    inbox: asyncio.Queue[list[object]] = asyncio.Queue()
    running = scheduler()
    running.start()
    try:
        late = silent_job(deadline=time.monotonic() - 60)  # the engine never answers it
        with pytest.raises(InternalError) as caught:
            await LlamaCppBackend()._next_items(inbox, running, late)
        assert caught.value.message == TIMEOUT_MESSAGE
        assert caught.value.code == "RequestTimeOut"
    finally:
        running.stop()


async def test_a_consumer_gets_what_the_engine_hands_over() -> None:
    inbox: asyncio.Queue[list[object]] = asyncio.Queue()
    inbox.put_nowait(["event"])
    items = await LlamaCppBackend()._next_items(inbox, scheduler(), silent_job(None))
    assert items == ["event"]


async def test_a_backend_whose_engine_is_not_running_refuses_at_once() -> None:
    backend = LlamaCppBackend()
    assert not backend.healthy
    request = GenerateRequest("m", (Message(Role.USER, (TextPart("hi"),)),))
    with pytest.raises(InternalError) as caught:
        await anext(backend.generate(request, "m"))
    assert caught.value.message == STOPPED_MESSAGE
