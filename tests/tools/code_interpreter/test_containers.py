"""Containers keep state between calls, turn figures into PNGs and expire when idle."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest

from openscope.tools.code_interpreter import Containers, SandboxFailed, SandboxPolicy
from tests.tools.code_interpreter.conftest import (
    SMALL,
    process_started,
    processes_mentioning,
    requires_bwrap,
)

pytestmark = requires_bwrap

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


async def test_variables_and_files_survive_between_calls(containers: Containers) -> None:
    box = await containers.create()
    first = await containers.run(box, "x = 41\nopen('note.txt', 'w').write('kept')")
    assert not first.error and not first.restarted
    second = await containers.run(box, "print(x + 1)\nopen('note.txt').read()")
    assert second.logs == "42\n'kept'\n"
    assert second.container_id == box


async def test_stdout_and_stderr_arrive_in_order(containers: Containers) -> None:
    box = await containers.create()
    result = await containers.run(
        box, "import sys\nprint('a')\nsys.stderr.write('b\\n')\nprint('c')"
    )
    assert result.logs == "a\nb\nc\n"


async def test_an_exception_is_a_result_with_its_traceback(containers: Containers) -> None:
    box = await containers.create()
    result = await containers.run(box, "print('before')\n1 / 0")
    assert result.error
    assert result.logs.startswith("before\nTraceback (most recent call last):\n")
    assert result.logs.endswith("ZeroDivisionError: division by zero\n")
    assert 'File "<cell 1>", line 2' in result.logs


async def test_the_libraries_are_importable(containers: Containers) -> None:
    box = await containers.create()
    result = await containers.run(
        box,
        "import numpy, pandas, sympy\n"
        "print(int(numpy.arange(4).sum()), pandas.DataFrame({'a': [1, 2]}).a.sum())\n"
        "sympy.factor(sympy.Symbol('x')**2 - 1)",
    )
    assert result.logs == "6 3\n(x - 1)*(x + 1)\n"


async def test_without_the_extra_a_library_is_the_users_import_error(tmp_path: Path) -> None:
    pool = Containers(tmp_path / "sandbox", SandboxPolicy(site_dirs=()))
    box = await pool.create()
    result = await pool.run(box, "import numpy")
    assert result.error and "ModuleNotFoundError: No module named 'numpy'" in result.logs
    assert (await pool.run(box, "print(2 ** 10)")).logs == "1024\n"
    await pool.aclose()


async def test_a_figure_becomes_a_png_image(containers: Containers) -> None:
    box = await containers.create()
    result = await containers.run(
        box,
        "import matplotlib.pyplot as plt\n"
        "plt.plot([1, 2, 3], [1, 4, 9])\nplt.show()\n"
        "plt.figure()\nplt.bar(['a', 'b'], [3, 5])\n",  # left open: captured too
    )
    assert not result.error
    assert len(result.images) == 2
    assert all(image.png.startswith(PNG_SIGNATURE) for image in result.images)
    assert result.images[0].data_url.startswith("data:image/png;base64,iVBORw0KGgo")
    again = await containers.run(box, "print('no new figure')")
    assert again.images == ()


async def test_a_cancelled_call_kills_its_cell(containers: Containers) -> None:
    box = await containers.create()
    await containers.run(box, "x = 1")
    work_dir = str(containers.work_dir(box))
    call = asyncio.create_task(containers.run(box, "import time\ntime.sleep(60)"))
    await asyncio.sleep(0.3)
    assert processes_mentioning(work_dir)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    await asyncio.sleep(0.2)
    assert not processes_mentioning(work_dir)
    after = await containers.run(box, "print('fresh')")
    assert after.restarted
    assert "because the previous call was cancelled while it ran" in after.logs
    assert after.logs.endswith("fresh\n")


async def test_an_idle_container_expires(tmp_path: Path) -> None:
    now = [1000.0]
    pool = Containers(tmp_path / "sandbox", SMALL, clock=lambda: now[0])
    box = await pool.create()
    await pool.run(box, "x = 1")
    work_dir = pool.work_dir(box)
    now[0] += SMALL.idle_seconds - 1
    assert await pool.expire_idle() == []
    now[0] += 2
    assert await pool.expire_idle() == [box]
    assert not work_dir.exists()
    assert box not in pool
    assert not processes_mentioning(str(work_dir))
    with pytest.raises(SandboxFailed) as failed:
        await pool.run(box, "x")
    assert failed.value.kind == "not_found"
    await pool.aclose()


async def test_the_least_recently_used_container_makes_room(tmp_path: Path) -> None:
    now = [0.0]
    policy = SandboxPolicy(max_containers=2)
    pool = Containers(tmp_path / "sandbox", policy, clock=lambda: now[0])
    old = await pool.create()
    now[0] += 1
    recent = await pool.create()
    now[0] += 1
    newest = await pool.create()
    assert old not in pool and recent in pool and newest in pool
    await pool.aclose()


async def test_a_workspace_past_its_share_makes_room_among_its_own(tmp_path: Path) -> None:
    now = [0.0]
    policy = SandboxPolicy(max_containers=4, max_containers_per_workspace=2)
    pool = Containers(tmp_path / "sandbox", policy, clock=lambda: now[0])
    other = await pool.create("ws_other")  # the oldest of all
    mine = []
    for _ in range(3):
        now[0] += 1
        mine.append(await pool.create("ws_busy"))
    # the busy workspace's third container pushed out its own oldest, not the other's
    assert other in pool
    assert mine[0] not in pool and mine[1] in pool and mine[2] in pool
    await pool.aclose()


async def test_a_call_cancelled_while_its_worker_starts_leaves_no_process(
    tmp_path: Path,
) -> None:
    # bwrap behind a script that waits first: the call is surely cancelled while the
    # worker starts (a client disconnect, the tool loop's timeout)
    slow_bwrap = tmp_path / "slow-bwrap"
    slow_bwrap.write_text('#!/bin/sh\nsleep 0.5\nexec bwrap "$@"\n')
    slow_bwrap.chmod(0o755)
    pool = Containers(tmp_path / "sandbox", replace(SMALL, bwrap=str(slow_bwrap)))
    box = await pool.create()
    work_dir = str(pool.work_dir(box))
    call = asyncio.create_task(pool.run(box, "print('never')"))
    await process_started(work_dir)
    await asyncio.sleep(0.1)  # the start now waits for the worker's "ready"
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    await pool.remove(box)
    await pool.aclose()
    assert not processes_mentioning(work_dir)
    after = await asyncio.wait_for(_other_runs_fine(tmp_path), 30)
    assert after == "fine\n"


async def _other_runs_fine(tmp_path: Path) -> str:
    pool = Containers(tmp_path / "other", SMALL)
    try:
        return (await pool.run(await pool.create(), "print('fine')")).logs
    finally:
        await pool.aclose()


async def test_concurrent_creates_share_the_last_slot(tmp_path: Path) -> None:
    pool = Containers(tmp_path / "sandbox", SandboxPolicy(max_containers=2))
    try:
        first, second = await pool.create(), await pool.create()
        made = await asyncio.gather(pool.create(), pool.create())
        assert all(box in pool for box in made)
        assert first not in pool and second not in pool
    finally:
        await pool.aclose()


async def test_concurrent_creates_keep_a_workspace_within_its_share(tmp_path: Path) -> None:
    policy = SandboxPolicy(max_containers=10, max_containers_per_workspace=2)
    pool = Containers(tmp_path / "sandbox", policy)
    try:
        earlier = [await pool.create("ws"), await pool.create("ws")]
        made = await asyncio.gather(*(pool.create("ws") for _ in range(3)))
        # each pushed out the workspace's oldest: only the two newest are left
        assert [box in pool for box in earlier + made] == [False] * 3 + [True] * 2
    finally:
        await pool.aclose()
