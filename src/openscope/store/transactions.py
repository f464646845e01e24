"""How the stores run their transactions over one SQLAlchemy async engine: each method one
transaction, begun the same way for every store of the server (on SQLite, writing
transactions begin with BEGIN IMMEDIATE, so concurrent writers wait on the busy timeout
instead of failing on a lock upgrade; on PostgreSQL, reads run in REPEATABLE READ so that
what one read returns comes from one snapshot), and finished even when the caller is
cancelled."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger("openscope.store")

WRITE_OPTION = "openscope_write"
"""Execution option marking a connection whose transaction will write (see database.py)."""

P = ParamSpec("P")
T = TypeVar("T")
S = TypeVar("S", bound="Transactional")


def finishes_even_if_cancelled(
    method: Callable[Concatenate[S, P], Coroutine[Any, Any, T]],
) -> Callable[Concatenate[S, P], Coroutine[Any, Any, T]]:
    """Run the method's transaction in a task of its own that a cancelled caller does not
    cancel: the caller's CancelledError is raised at once, and the transaction still
    commits or rolls back. Cancelled inside a statement, SQLAlchemy invalidates the
    connection with its transaction still open; on SQLite that connection kept the write
    lock, and every later writer in every process failed with "database is locked"."""

    async def run(self: S, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await self._to_the_end(method(self, *args, **kwargs))

    return functools.update_wrapper(run, method)


class Transactional:
    """A store over `engine`: its methods open `_read()` or `_write()` transactions and are
    wrapped in `finishes_even_if_cancelled`. `wait_for_cancelled` (from `close`) waits for
    the transactions whose callers left."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        # Transactions whose callers were cancelled, still finishing.
        self._finishing: set[asyncio.Task[Any]] = set()

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    async def wait_for_cancelled(self, finish_timeout: float) -> None:
        """Wait (at most `finish_timeout` seconds) for the transactions cancelled callers
        left running."""
        if self._finishing:
            _, late = await asyncio.wait(self._finishing, timeout=finish_timeout)
            if late:
                log.error("closing a store with %d transactions still running", len(late))

    async def _to_the_end(self, work: Coroutine[Any, Any, T]) -> T:
        task = asyncio.ensure_future(work)
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            if not task.done():
                self._finishing.add(task)
                task.add_done_callback(self._finished_after_cancel)
            raise

    def _finished_after_cancel(self, task: asyncio.Task[Any]) -> None:
        self._finishing.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            # nobody awaits it any more: said here, or asyncio would complain at exit
            log.warning("a store transaction whose caller left failed: %r", error)

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncConnection]:
        async with self._engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                await conn.execution_options(isolation_level="REPEATABLE READ")
            async with conn.begin():
                yield conn

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncConnection]:
        async with self._engine.connect() as conn:
            await conn.execution_options(**{WRITE_OPTION: True})
            async with conn.begin():
                yield conn
