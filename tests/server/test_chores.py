"""The server's periodic chores: a round under way is finished, not cancelled, when the
server stops; a failing round is logged and the next one runs; a round that outlives the
stop timeout is cancelled."""

from __future__ import annotations

import asyncio
import logging

import pytest

from openscope.server.chores import Chores, shutdown_step


async def test_stop_lets_the_round_under_way_finish() -> None:
    started, finished = asyncio.Event(), asyncio.Event()
    rounds = 0

    async def work() -> None:
        nonlocal rounds
        rounds += 1
        started.set()
        await asyncio.sleep(0.05)  # e.g. a transaction in flight
        finished.set()

    chores = Chores()
    chores.every(3600, "slow", work)
    await started.wait()
    await chores.stop()
    assert finished.is_set()
    assert rounds == 1


async def test_a_failing_round_is_logged_and_the_next_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls = 0
    second = asyncio.Event()

    async def work() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("database away")
        second.set()

    chores = Chores()
    with caplog.at_level(logging.ERROR, logger="openscope.chores"):
        chores.every(0.01, "usage ledger: rollup or purge", work)
        await asyncio.wait_for(second.wait(), 5)
        await chores.stop()
    assert "usage ledger: rollup or purge failed" in caplog.text
    assert "database away" in caplog.text


async def test_stop_ends_the_wait_between_rounds_at_once() -> None:
    ran = asyncio.Event()

    async def work() -> None:
        ran.set()

    chores = Chores()
    chores.every(3600, "hourly", work)
    await ran.wait()
    await asyncio.wait_for(chores.stop(), 1)


async def test_a_round_past_the_stop_timeout_is_cancelled(
    caplog: pytest.LogCaptureFixture,
) -> None:
    started = asyncio.Event()
    cancelled = False

    async def work() -> None:
        nonlocal cancelled
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled = True
            raise

    chores = Chores(stop_timeout=0.05)
    chores.every(3600, "stuck", work)
    await started.wait()
    with caplog.at_level(logging.ERROR, logger="openscope.chores"):
        await chores.stop()
    assert cancelled
    assert "stuck did not finish" in caplog.text


async def test_a_failed_shutdown_step_is_logged_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def fail() -> None:
        raise RuntimeError("database is locked")

    with caplog.at_level(logging.ERROR, logger="openscope.chores"):
        await shutdown_step("writing the keys' last-used times", fail())
    assert "shutdown: writing the keys' last-used times failed" in caplog.text
