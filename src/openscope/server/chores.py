"""The server's periodic background work (purging expired responses, the keys' last-used
times, the usage ledger's rollup), each a round repeated on an interval.

A round is never cancelled while it runs: stopping waits for the rounds under way and
ends the waits between them. A round cancelled inside a database transaction can leave
its connection behind with the transaction open; on SQLite that connection keeps the
write lock, and every later writer (the shutdown's own last writes among them) waits out
the busy timeout and fails with "database is locked"."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger("openscope.chores")

DEFAULT_STOP_TIMEOUT = 15.0  # seconds a round under way may take to finish on stop


class Chores:
    def __init__(self, *, stop_timeout: float = DEFAULT_STOP_TIMEOUT) -> None:
        self._stop_timeout = stop_timeout
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def every(self, interval: float, name: str, work: Callable[[], Awaitable[object]]) -> None:
        """Run `work` now and then every `interval` seconds after each round ends, until
        `stop()`. A round that raises is logged, naming the chore, and the next one runs
        on time."""
        task = asyncio.get_running_loop().create_task(self._repeat(interval, name, work), name=name)
        self._tasks.append(task)

    async def _repeat(
        self, interval: float, name: str, work: Callable[[], Awaitable[object]]
    ) -> None:
        while not self._stopping.is_set():
            try:
                await work()
            except Exception:
                log.exception("%s failed; trying again in %g s", name, interval)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), interval)

    async def stop(self) -> None:
        """Let the rounds under way finish (each for at most the stop timeout, then it is
        cancelled) and start no more."""
        self._stopping.set()
        tasks, self._tasks = self._tasks, []
        if not tasks:
            return
        _, late = await asyncio.wait(tasks, timeout=self._stop_timeout)
        for task in late:
            log.error(
                "%s did not finish within %g s of the stop; cancelled",
                task.get_name(),
                self._stop_timeout,
            )
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def shutdown_step(what: str, work: Awaitable[object]) -> None:
    """Await one step of the server's shutdown; a failure is logged, not raised, so the
    steps after it still run."""
    try:
        await work
    except Exception:
        log.exception("shutdown: %s failed", what)
