"""Each bomb stops at its limit with a clear SandboxFailed, and the container works after."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from openscope.tools.code_interpreter import Containers, SandboxFailed, SandboxPolicy
from tests.tools.code_interpreter.conftest import SMALL, requires_bwrap

pytestmark = requires_bwrap


async def failure(containers: Containers, box: str, code: str) -> SandboxFailed:
    with pytest.raises(SandboxFailed) as failed:
        await containers.run(box, code)
    return failed.value


async def test_a_fork_bomb_meets_the_process_limit(containers: Containers) -> None:
    box = await containers.create()
    await containers.run(box, "kept = 'still here'")
    failed = await failure(containers, box, "import os\nwhile True:\n    os.fork()")
    assert failed.kind == "processes"
    assert f"process limit ({SMALL.max_processes}" in failed.reason
    after = await containers.run(
        box, "import os\nprint(kept, len([p for p in os.listdir('/proc') if p.isdigit()]))"
    )
    # The worker lived on (its variables too); the forks are gone: only the namespace's
    # init and the worker remain.
    assert after.logs == "still here 2\n"
    assert not after.restarted


async def test_a_memory_bomb_meets_the_memory_limit(tmp_path: Path) -> None:
    # Filling memory costs CPU time too (every page is written): on a busy machine the
    # small policy's 1 s of CPU ran out first. A smaller memory limit and more CPU here,
    # so that the memory limit is the one met.
    policy = replace(SMALL, memory_bytes=256 << 20, cpu_seconds=10, wall_seconds=20)
    containers = Containers(tmp_path / "sandbox", policy)
    try:
        await _memory_bomb(containers, policy)
    finally:
        await containers.aclose()


async def _memory_bomb(containers: Containers, policy: SandboxPolicy) -> None:
    box = await containers.create()
    await containers.run(box, "open('kept.txt', 'w').write('file')\nlost = 1")
    failed = await failure(
        containers, box, "hog = []\nwhile True:\n    hog.append(bytearray(16 << 20))"
    )
    assert failed.kind == "memory"
    assert f"memory limit ({policy.memory_bytes >> 20} MiB)" in failed.reason
    after = await containers.run(box, "print(open('kept.txt').read())\nlost")
    assert after.restarted
    assert after.logs.startswith("[sandbox] Python was restarted because the code exceeded")
    assert "file\n" in after.logs and "NameError" in after.logs


async def test_an_infinite_loop_meets_the_cpu_limit(containers: Containers) -> None:
    box = await containers.create()
    failed = await failure(containers, box, "while True:\n    pass")
    assert failed.kind == "cpu"
    assert "CPU-time limit" in failed.reason
    after = await containers.run(box, "print('back')")
    assert after.restarted and after.logs.endswith("back\n")


async def test_a_sleeping_cell_meets_the_wall_clock_limit(containers: Containers) -> None:
    box = await containers.create()
    failed = await failure(containers, box, "import time\ntime.sleep(60)")
    assert failed.kind == "timeout"
    assert f"{SMALL.wall_seconds:g} s time limit" in failed.reason
    after = await containers.run(box, "print('back')")
    assert after.restarted and after.logs.endswith("back\n")


async def test_a_100_mb_print_meets_the_output_cap(containers: Containers) -> None:
    box = await containers.create()
    await containers.run(box, "kept = 7")
    failed = await failure(containers, box, "print('x' * (100 << 20))")
    assert failed.kind == "output"
    assert f"output limit ({SMALL.max_output_bytes} bytes)" in failed.reason
    assert 0 < len(failed.logs) <= SMALL.max_output_bytes
    looped = await failure(containers, box, "for _ in range(1 << 20):\n    print('y' * 100)")
    assert looped.kind == "output"
    after = await containers.run(box, "kept")
    assert after.logs == "7\n" and not after.restarted


async def test_a_subprocess_flood_meets_the_output_cap(containers: Containers) -> None:
    box = await containers.create()
    failed = await failure(containers, box, "import os\nos.system('head -c 100000000 /dev/zero')")
    assert failed.kind == "output"
    assert len(failed.logs) <= SMALL.max_output_bytes
    after = await containers.run(box, "print('fine')")
    assert after.logs == "fine\n"


async def test_a_file_larger_than_the_limit_is_refused(containers: Containers) -> None:
    box = await containers.create()
    size = SMALL.max_file_bytes + 1
    result = await containers.run(box, f"with open('big', 'wb') as f:\n    f.write(b'0' * {size})")
    assert result.error and "File too large" in result.logs
    assert (containers.work_dir(box) / "big").stat().st_size == SMALL.max_file_bytes


async def test_tmp_is_a_tmpfs_of_the_policys_size(tmp_path: Path) -> None:
    policy = replace(SMALL, tmp_bytes=4 << 20)
    containers = Containers(tmp_path / "sandbox", policy)
    try:
        box = await containers.create()
        size = await containers.run(
            box, "import os\ns = os.statvfs('/tmp')\ns.f_blocks * s.f_frsize"
        )
        assert size.logs == f"{policy.tmp_bytes}\n"
        # 6 files of 1 MiB (SMALL's per-file limit) into a 4 MiB /tmp
        fill = "for n in range(6):\n    open(f'/tmp/f{n}', 'wb').write(b'1' * (1 << 20))"
        full = await containers.run(box, fill)
        # a completed run whose traceback tells the model why
        assert full.error and "No space left on device" in full.logs
        after = await containers.run(box, "print('fine')")
        assert after.logs == "fine\n" and not after.restarted
    finally:
        await containers.aclose()
