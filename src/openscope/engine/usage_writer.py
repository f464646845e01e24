"""Writing the usage ledger off the request path, and keeping it: `UsageWriter` takes the
meter stage's records without blocking and inserts them in batches; `keep_ledger` rolls
the events up into hourly rows and applies the retention."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Protocol

from openscope.core.billing import UsageRecord

log = logging.getLogger("openscope.usage")

DEFAULT_MAX_PENDING = 10_000
DEFAULT_BATCH_SIZE = 500
DEFAULT_LINGER = 0.25  # seconds a batch may wait for more records before it is written
ROLLUP_BATCH = 50_000  # events per rollup transaction, so none holds its lock for long
DAY_MS = 86_400_000


class LedgerWriter(Protocol):
    async def record_usage_batch(self, records: Sequence[UsageRecord]) -> int: ...


class LedgerKeeper(Protocol):
    async def roll_up(self, *, max_events: int = ...) -> int: ...

    async def purge_usage(self, before_ms: int) -> int: ...


class UsageWriter:
    """A bounded list of records and one background task that inserts whatever is queued
    in one transaction per batch (up to `batch_size`): under load the batches grow by
    themselves while the previous one is written. A batch that fails to insert is retried,
    with a growing pause, until it goes in; records that come while `max_pending` wait are
    dropped, each with a warning and counted in `dropped`. The task starts with the first
    record; `close()` writes what is queued and stops it.

    A plain list, not an `asyncio.Queue`: a record is queued on every request, and the
    queue's per-item bookkeeping (its getters, putters and unfinished count) cost more than
    the rest of the writer; `flush` counts the records done instead."""

    def __init__(
        self,
        store: LedgerWriter,
        *,
        max_pending: int = DEFAULT_MAX_PENDING,
        batch_size: int = DEFAULT_BATCH_SIZE,
        retry_delay: float = 0.5,
        max_retry_delay: float = 30.0,
        close_timeout: float | None = 10.0,
        linger: float = DEFAULT_LINGER,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be positive")
        self._store = store
        self._queued: list[UsageRecord] = []
        self._max_pending = max_pending
        self._arrived = asyncio.Event()  # set while records wait for the task
        self._progress = asyncio.Event()  # set whenever a batch is done with
        self._queued_total = 0  # records ever queued
        self._done_total = 0  # of those, written or given up on
        self._batch_size = batch_size
        self._retry_delay = retry_delay
        self._max_retry_delay = max_retry_delay
        self._close_timeout = close_timeout
        self._linger = linger
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self.written = 0  # records inserted (duplicates of a request id not counted)
        self.dropped = 0  # records lost: queue full, closed, or unwritten at close

    @property
    def pending(self) -> int:
        return len(self._queued)

    def record_nowait(self, record: UsageRecord) -> None:
        """Queue the record; never blocks, never raises."""
        if self._closed:
            self._drop(record, "the writer is closed")
            return
        if len(self._queued) >= self._max_pending:
            self._drop(record, f"the queue is full ({self._max_pending} pending)")
            return
        self._queued.append(record)
        self._queued_total += 1
        if not self._arrived.is_set():
            self._arrived.set()
        task = self._task
        if task is None or task.done():
            with contextlib.suppress(RuntimeError):  # no running loop: close() writes it
                self._start()

    def _drop(self, record: UsageRecord, why: str) -> None:
        self.dropped += 1
        log.warning(
            "usage ledger: dropped the record of request %s, %s (%d dropped so far)",
            record.request_id,
            why,
            self.dropped,
        )

    def _start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="usage-writer")

    async def _run(self) -> None:
        while True:
            while not self._queued:
                self._arrived.clear()
                await self._arrived.wait()
            if self._linger and not self._closed and len(self._queued) < self._batch_size:
                # Let a batch gather: one transaction (one commit, one fsync) for the
                # records of `linger` seconds, not one per request.
                await asyncio.sleep(self._linger)
            batch = self._queued[: self._batch_size]
            del self._queued[: self._batch_size]
            try:
                await self._write(batch)
            finally:
                self._done_total += len(batch)
                self._progress.set()

    async def _write(self, batch: list[UsageRecord]) -> None:
        delay = self._retry_delay
        try:
            while True:
                try:
                    self.written += await self._store.record_usage_batch(batch)
                    return
                except Exception:
                    log.exception(
                        "usage ledger: writing %d records failed; retrying in %.1f s",
                        len(batch),
                        delay,
                    )
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._max_retry_delay)
        except asyncio.CancelledError:
            self.dropped += len(batch)
            log.error(
                "usage ledger: stopped with %d records unwritten (%d dropped so far)",
                len(batch),
                self.dropped,
            )
            raise

    async def flush(self) -> None:
        """Return once every record queued so far is written."""
        target = self._queued_total
        if self._queued:
            self._start()
        while self._done_total < target:
            self._progress.clear()
            await self._progress.wait()

    async def close(self) -> None:
        """Take no more records, write the queued ones (for at most `close_timeout`
        seconds; the rest are counted as dropped) and stop the task."""
        self._closed = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.flush(), self._close_timeout)
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        unwritten = len(self._queued)
        if unwritten:
            self._queued.clear()
            self.dropped += unwritten
            log.error(
                "usage ledger: closed with %d records unwritten (%d dropped so far)",
                unwritten,
                self.dropped,
            )


async def keep_ledger(
    store: LedgerKeeper, *, retention_days: int, now: float, max_events: int = ROLLUP_BATCH
) -> tuple[int, int]:
    """Roll up every event recorded so far, then delete what is older than the retention;
    (events rolled up, rows purged)."""
    rolled = 0
    while True:
        taken = await store.roll_up(max_events=max_events)
        rolled += taken
        if taken < max_events:
            break
    purged = await store.purge_usage(int(now * 1000) - retention_days * DAY_MS)
    log.debug("usage ledger: rolled up %d events", rolled)
    if purged:
        log.info("usage ledger: purged %d rows past the retention", purged)
    return rolled, purged
