"""Containers under a small policy (every limit low, so each test takes a few seconds)."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from openscope.tools.code_interpreter import Containers, SandboxPolicy

requires_bwrap = pytest.mark.skipif(
    shutil.which("bwrap") is None,
    reason="bubblewrap's bwrap is not on PATH (apt-get install bubblewrap)",
)

SMALL = SandboxPolicy(
    wall_seconds=2.5,
    cpu_seconds=1,
    cpu_seconds_total=30,
    memory_bytes=768 << 20,
    max_processes=32,
    max_file_bytes=1 << 20,
    max_output_bytes=64 << 10,
)


@pytest.fixture
async def containers(tmp_path: Path) -> AsyncIterator[Containers]:
    pool = Containers(tmp_path / "sandbox", SMALL)
    yield pool
    await pool.aclose()


async def process_started(text: str, within: float = 10.0) -> None:
    """Poll until a process's command line mentions `text`."""
    for _ in range(int(within / 0.005)):
        if processes_mentioning(text):
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"no process mentioning {text} started within {within:g} s")


def processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if text.encode() in cmdline:
                found.append(int(entry.name))
    return found
