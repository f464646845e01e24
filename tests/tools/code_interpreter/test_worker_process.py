"""A worker whose start is cancelled leaves no process and no task behind."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from openscope.tools.code_interpreter.worker_process import Worker
from tests.tools.code_interpreter.conftest import (
    process_started,
    processes_mentioning,
)


def _stderr_tasks() -> list[asyncio.Task[object]]:
    return [t for t in asyncio.all_tasks() if "_drain_stderr" in repr(t.get_coro())]


async def test_a_cancelled_start_kills_the_process(tmp_path: Path) -> None:
    marker = str(tmp_path / "never-ready")  # an argument of a Python that never says ready
    never_ready = [sys.executable, "-c", "import time; time.sleep(60)", marker]
    start = asyncio.create_task(
        Worker.start(never_ready, start_seconds=30, line_limit=4096, limits="")
    )
    await process_started(marker)
    await asyncio.sleep(0.2)  # the start now waits for "ready"
    start.cancel()
    with pytest.raises(asyncio.CancelledError):
        await start
    assert not processes_mentioning(marker)
    assert not _stderr_tasks()
