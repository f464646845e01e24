"""Containers under a small policy (every limit low, so each test takes a few seconds)."""

from __future__ import annotations

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
