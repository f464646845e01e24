"""Keeping the ledger: the rollup catches up in bounded steps, retention purges only what
was rolled up."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from openscope.core.billing import UsageRecord
from openscope.engine.usage_writer import keep_ledger
from openscope.store import open_store, sqlite_url

DAY = 86400
NOW = 1_767_225_600 + 100 * DAY


def record(request_id: str, at: int) -> UsageRecord:
    return UsageRecord(
        request_id, at * 1000, "ws", "key", "qwen-plus", "chat", "ok", input_tokens=10
    )


async def test_keep_ledger_rolls_everything_up_then_purges_past_the_retention(
    tmp_path: Path,
) -> None:
    store = await open_store(sqlite_url(tmp_path))
    try:
        old = [record(f"old{i}", NOW - 95 * DAY + i) for i in range(5)]
        new = [record(f"new{i}", NOW - DAY + i) for i in range(6)]
        await store.record_usage_batch(old + new)
        rolled, purged = await keep_ledger(store, retention_days=90, now=NOW, max_events=4)
        assert rolled == 11
        assert purged == 5 + 1  # the old events and their hour
        page = await store.usage_buckets(start=NOW - 100 * DAY, end=NOW + DAY, limit=31)
        assert sum(r.requests for b in page.buckets for r in b.results) == 0  # 100 d..69 d ago
        recent = await store.usage_buckets(start=NOW - 2 * DAY, end=NOW)
        assert sum(r.requests for b in recent.buckets for r in b.results) == 6
    finally:
        await store.close()


class Keeper:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []
        self.failures = 1

    async def roll_up(self, *, max_events: int = 50_000) -> int:
        self.calls.append(("roll_up", max_events))
        if self.failures:
            self.failures -= 1
            raise ConnectionError("database away")
        return 0

    async def purge_usage(self, before_ms: int) -> int:
        self.calls.append(("purge", before_ms))
        return 3


async def test_a_failed_rollup_purges_nothing_and_the_next_round_does(
    caplog: pytest.LogCaptureFixture,
) -> None:
    keeper = Keeper()
    with pytest.raises(ConnectionError):
        await keep_ledger(keeper, retention_days=1, now=10 * DAY)
    assert keeper.calls == [("roll_up", 50_000)]  # nothing purged before it is rolled up
    with caplog.at_level(logging.INFO, logger="openscope.usage"):
        assert await keep_ledger(keeper, retention_days=1, now=10 * DAY) == (0, 3)
    assert "purged 3 rows" in caplog.text
    assert ("purge", 9 * DAY * 1000) in keeper.calls
