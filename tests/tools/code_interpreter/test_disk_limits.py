"""/tmp and /mnt/data are bounded: a tmpfs of `tmp_bytes`, and `max_disk_bytes` of files per
container, checked while a cell runs and after it (past it the container is removed)."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest

from openscope.tools.code_interpreter import Containers, SandboxFailed
from openscope.tools.code_interpreter.disk import disk_usage
from tests.tools.code_interpreter.conftest import SMALL, requires_bwrap

MIB = 1 << 20
# files of at most SMALL.max_file_bytes (1 MiB) each
WRITE_MIB = "for n in range({count}):\n    open(f'{name}{{n}}', 'wb').write(b'1' * (1 << 20))"


@requires_bwrap
async def test_files_past_the_disk_cap_remove_the_container(tmp_path: Path) -> None:
    containers = Containers(tmp_path / "sandbox", replace(SMALL, max_disk_bytes=4 * MIB))
    try:
        box = await containers.create()
        under = await containers.run(box, WRITE_MIB.format(count=2, name="a"))
        assert not under.error
        work_dir = containers.work_dir(box)
        assert 2 * MIB <= disk_usage(work_dir) < 4 * MIB
        with pytest.raises(SandboxFailed) as failed:
            await containers.run(box, WRITE_MIB.format(count=3, name="b") + "\nprint('wrote')")
        assert failed.value.kind == "disk"
        assert "disk limit (4 MiB)" in failed.value.reason
        assert "the next call starts in a new, empty container" in failed.value.reason
        assert failed.value.logs == "wrote\n"
        assert box not in containers and not work_dir.exists()
    finally:
        await containers.aclose()


@requires_bwrap
async def test_a_cell_filling_the_disk_is_stopped_while_it_runs(tmp_path: Path) -> None:
    policy = replace(SMALL, max_disk_bytes=4 * MIB, wall_seconds=30, disk_poll_seconds=0.2)
    containers = Containers(tmp_path / "sandbox", policy)
    try:
        box = await containers.create()
        started = time.monotonic()
        with pytest.raises(SandboxFailed) as failed:
            await containers.run(
                box, WRITE_MIB.format(count=6, name="c") + "\nimport time\ntime.sleep(30)"
            )
        # the watchdog killed it long before the wall-clock limit
        assert time.monotonic() - started < 10
        assert failed.value.kind == "disk"
        assert "disk limit (4 MiB)" in failed.value.reason
        assert box not in containers
        fresh = await containers.create()
        again = await containers.run(fresh, "import os\nprint(os.listdir('.'))")
        assert again.logs == "[]\n"
    finally:
        await containers.aclose()


def test_disk_usage_counts_blocks_once_and_every_entry(tmp_path: Path) -> None:
    (tmp_path / "data").write_bytes(b"x" * (3 * 4096))
    (tmp_path / "sparse").open("wb").truncate(100 * MIB)  # no blocks allocated
    (tmp_path / "link").hardlink_to(tmp_path / "data")  # the same blocks again
    (tmp_path / "up").symlink_to("/usr")  # not followed
    (tmp_path / "sub").mkdir()
    for n in range(10):
        (tmp_path / "sub" / str(n)).touch()  # empty, yet each takes an inode
    used = disk_usage(tmp_path)
    assert 3 * 4096 + 10 * 4096 <= used < 2 * MIB
    # past `stop_above` the walk ends early: the total passes it, not much more
    assert 5 * 4096 < disk_usage(tmp_path, stop_above=5 * 4096) < used
