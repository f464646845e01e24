"""How the engine thread's events reach the requests that wait for them on an event loop.

Each request reads an asyncio queue on its loop. Every hand-over from the engine thread
wakes that loop's thread, which on a small machine takes a core from the decode threads
mid-step, so the items one step has for all the requests of a loop go over in one call.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from openscope.backends.llamacpp.job import Deliver

Puts = list[tuple[asyncio.Queue[list[object]], list[object]]]  # (a request's queue, its items)


@dataclass(frozen=True, slots=True, eq=False)
class LoopInbox:
    """One request's queue on its event loop, fed from the engine thread."""

    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[list[object]]

    def __call__(self, items: list[object]) -> None:
        if items:
            with contextlib.suppress(RuntimeError):  # its loop is closed: nobody listens
                self.loop.call_soon_threadsafe(self.queue.put_nowait, items)


def hand_over(due: list[tuple[Deliver, list[object]]]) -> None:
    """The scheduler's handover: one wake-up per event loop for a whole step."""
    by_loop: dict[asyncio.AbstractEventLoop, Puts] = {}
    for deliver, items in due:
        if isinstance(deliver, LoopInbox):
            by_loop.setdefault(deliver.loop, []).append((deliver.queue, items))
        else:
            deliver(items)
    for loop, puts in by_loop.items():
        with contextlib.suppress(RuntimeError):  # its loop is closed: nobody listens
            loop.call_soon_threadsafe(_put_all, puts)


def _put_all(puts: Puts) -> None:
    for queue, items in puts:
        queue.put_nowait(items)
