"""Events from the engine thread reach each request's queue on its event loop, and one
step's items for all the requests of a loop wake that loop once."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

from openscope.backends.llamacpp.handover import LoopInbox, hand_over


class CountingLoop:
    """Stands in for an event loop: runs what it is handed at once, and counts."""

    def __init__(self, *, closed: bool = False) -> None:
        self.calls = 0
        self.closed = closed

    def call_soon_threadsafe(self, callback: Callable[..., Any], *args: Any) -> None:
        if self.closed:
            raise RuntimeError("Event loop is closed")
        self.calls += 1
        callback(*args)


def inbox(loop: Any) -> LoopInbox:
    return LoopInbox(loop, asyncio.Queue())


def test_one_wake_up_per_loop_for_a_whole_step() -> None:
    first_loop, second_loop = CountingLoop(), CountingLoop()
    a, b, c = inbox(first_loop), inbox(first_loop), inbox(second_loop)
    plain: list[list[object]] = []
    hand_over([(a, [1, 2]), (b, [3]), (c, [4]), (plain.append, [5])])
    assert first_loop.calls == 1 and second_loop.calls == 1
    assert a.queue.get_nowait() == [1, 2] and b.queue.get_nowait() == [3]
    assert c.queue.get_nowait() == [4]
    assert plain == [[5]]


def test_a_closed_loop_is_skipped() -> None:
    closed, live = CountingLoop(closed=True), CountingLoop()
    gone, waiting = inbox(closed), inbox(live)
    hand_over([(gone, [1]), (waiting, [2])])
    gone([3])
    assert gone.queue.empty() and waiting.queue.get_nowait() == [2]


async def test_items_from_the_engine_thread_arrive_in_order() -> None:
    loop = asyncio.get_running_loop()
    a, b = LoopInbox(loop, asyncio.Queue()), LoopInbox(loop, asyncio.Queue())

    def engine() -> None:
        hand_over([(a, ["a1"]), (b, ["b1"])])
        a(["a2", "end"])  # an end goes through the job's own deliver, after its events
        hand_over([(b, ["b2"])])

    thread = threading.Thread(target=engine)
    thread.start()
    thread.join()
    got_a = [await asyncio.wait_for(a.queue.get(), 5) for _ in range(2)]
    got_b = [await asyncio.wait_for(b.queue.get(), 5) for _ in range(2)]
    assert got_a == [["a1"], ["a2", "end"]] and got_b == [["b1"], ["b2"]]
