"""A request waiting for its answer hears the client hang up at once, without polling
for it, and an answer that comes first is returned with nothing left running."""

from __future__ import annotations

import asyncio

import pytest
from starlette.requests import Request
from starlette.types import Message

from openscope.protocols.http import ClientDisconnected, unless_disconnected


class Client:
    """The ASGI receive side of a request whose body has been read."""

    def __init__(self) -> None:
        self.receives = 0
        self.gone = asyncio.Event()

    async def receive(self) -> Message:
        self.receives += 1
        await self.gone.wait()
        return {"type": "http.disconnect"}

    def request(self) -> Request:
        return Request({"type": "http", "method": "POST", "headers": []}, self.receive)


async def test_a_hang_up_cancels_the_work_at_once_and_nothing_polls() -> None:
    client = Client()
    cancelled = asyncio.Event()

    async def endless() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            cancelled.set()

    waiting = asyncio.ensure_future(unless_disconnected(client.request(), endless()))
    await asyncio.sleep(0.6)  # a 0.25 s poll would have asked twice by now
    assert client.receives == 1 and not waiting.done()
    client.gone.set()
    with pytest.raises(ClientDisconnected):
        await asyncio.wait_for(waiting, 0.1)
    await asyncio.wait_for(cancelled.wait(), 1)


async def test_an_answer_that_comes_first_is_returned_and_the_listening_stops() -> None:
    client = Client()

    async def answer() -> str:
        await asyncio.sleep(0.01)
        return "done"

    before = asyncio.all_tasks()
    assert await unless_disconnected(client.request(), answer()) == "done"
    await asyncio.sleep(0)  # let the cancelled listener finish
    assert asyncio.all_tasks() == before
