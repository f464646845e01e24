"""A caller cancelled in the middle of a store call (a client that left, a stopping chore)
must not leave a transaction open behind it: on SQLite that held the write lock, and every
later writer waited out the busy timeout and failed with "database is locked"."""

from __future__ import annotations

import asyncio
import random

from openscope.core.billing import UsageRecord
from openscope.store import Store, open_store


def record(i: int) -> UsageRecord:
    return UsageRecord(f"req-{i}", 1000 * i, "ws", "key", "m", "chat", "ok", input_tokens=1)


async def test_a_cancelled_writer_leaves_the_database_writable(store: Store) -> None:
    await store.record_usage_batch([record(i) for i in range(2000)])
    rng = random.Random(7)

    async def write_forever() -> None:
        while True:
            await store.purge_expired(0)
            await store.roll_up()

    for _ in range(20):
        writer = asyncio.create_task(write_forever())
        await asyncio.sleep(rng.uniform(0, 0.02))  # lands inside a statement, sooner or later
        writer.cancel()
        await asyncio.gather(writer, return_exceptions=True)
        # Without the fix, the second round already waited out the 30 s busy timeout.
        await asyncio.wait_for(store.mark_keys_used({"key-x": 1}), 5)


async def test_a_cancelled_caller_still_gets_its_transaction_committed(url: str) -> None:
    store = await open_store(url)
    batch = [record(i) for i in range(20_000)]  # a transaction of a few hundred ms
    call = asyncio.create_task(store.record_usage_batch(batch))
    await asyncio.sleep(0.05)  # well inside it
    call.cancel()
    await asyncio.gather(call, return_exceptions=True)
    assert call.cancelled()
    await store.close()  # waits for the transaction the caller left
    reopened = await open_store(url)
    try:
        ends = await reopened.usage_records(["req-0", "req-19999"])
        assert [r.request_id for r in ends] == ["req-0", "req-19999"]  # all of it, not none
    finally:
        await reopened.close()
