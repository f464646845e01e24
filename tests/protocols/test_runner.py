"""The route runner's own guarantees, apart from any protocol: keep-alive pacing, and the
order in which a stream's iterators are closed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

from openscope.protocols.runner import _with_keepalive


async def test_keepalives_fill_the_silence() -> None:
    async def slow() -> Any:
        await asyncio.sleep(0.25)
        yield "event"

    seen = [item async for item in _with_keepalive(slow(), 0.1)]
    assert seen[-1] == "event"
    assert seen.count(None) >= 1


async def test_the_pump_has_stopped_reading_when_the_paced_stream_closes() -> None:
    """Closing the paced stream mid-way stops its pump first, so the caller may close the
    events next: the events are not being read any more (an async generator closed while
    another task is inside it fails with "already running")."""
    reading = asyncio.Event()

    async def events() -> AsyncGenerator[Any, None]:
        yield "first"
        reading.set()
        await asyncio.sleep(3600)  # the pump sits inside the next step
        yield "never"

    source = events()
    paced = _with_keepalive(source, 10.0)
    assert await anext(paced) == "first"
    await asyncio.wait_for(reading.wait(), 1.0)
    await paced.aclose()
    await source.aclose()  # would raise RuntimeError if the pump were still inside it
