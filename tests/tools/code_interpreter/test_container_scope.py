"""Which container a code call runs in, against the real bwrap: the one the tool names,
else the conversation's latest (`ToolContext.earlier`), else a new one; never another
workspace's; and server instances sharing a root leave each other's containers alone."""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from openscope.core.builtin_tools import BuiltinToolKind, CodeInterpreter
from openscope.core.messages import BuiltinResultPart
from openscope.core.tool_runner import ToolContext, ToolOutcome
from openscope.tools.code_interpreter import CodeInterpreterRunner, Containers
from openscope.tools.code_interpreter.containers import LOCK_FILE
from openscope.tools.code_interpreter.runner import latest_container
from tests.tools.code_interpreter.conftest import SMALL, requires_bwrap

SPEC = CodeInterpreter()


def result(output: str, tool: BuiltinToolKind = BuiltinToolKind.CODE_INTERPRETER) -> Any:
    return BuiltinResultPart("ci_1", tool, output)


def context(workspace: str, *earlier: ToolOutcome) -> ToolContext:
    """A call's context after the conversation's `earlier` runs (oldest first)."""
    return ToolContext("req_1", workspace, earlier=tuple(result(o.output) for o in earlier))


def container_of(outcome: ToolOutcome) -> str:
    container_id = json.loads(outcome.output)["container_id"]
    assert isinstance(container_id, str)
    return container_id


@pytest.fixture
async def runner(containers: Containers) -> AsyncIterator[CodeInterpreterRunner]:
    tool = CodeInterpreterRunner(containers)
    yield tool
    await tool.aclose()


def test_the_latest_code_run_naming_a_container_is_the_conversations() -> None:
    def ran_in(container_id: str) -> str:
        return json.dumps({"code": "1", "outputs": [], "container_id": container_id})

    earlier = [
        result(ran_in("cntr_a")),
        result(ran_in("cntr_b")),
        result('{"error": "timed out"}'),  # the loop's own failure names none
        result("not json"),
        result(ran_in("cntr_search"), BuiltinToolKind.WEB_SEARCH),  # another tool's
    ]
    assert latest_container(earlier) == "cntr_b"
    assert latest_container([]) is None


@requires_bwrap
async def test_a_chain_keeps_its_state_across_requests(runner: CodeInterpreterRunner) -> None:
    first = await runner.run(
        SPEC, {"code": "x = 41\nopen('f.txt', 'w').write('hi')"}, context("ws_a")
    )
    # the next request of the chain: its history holds the first run
    again = await runner.run(
        SPEC, {"code": "print(x + 1, open('f.txt').read())"}, context("ws_a", first)
    )
    assert (again.status, again.for_model) == ("completed", "42 hi")
    assert container_of(again) == container_of(first)


@requires_bwrap
async def test_unrelated_requests_of_one_workspace_do_not_share(
    runner: CodeInterpreterRunner,
) -> None:
    first = await runner.run(
        SPEC, {"code": "x = 41\nopen('f.txt', 'w').write('hi')"}, context("ws_a")
    )
    other = await runner.run(
        SPEC, {"code": "import os\nprint(os.listdir('.'))\nx"}, context("ws_a")
    )
    # the user's code raising is a completed call: the model reads the traceback
    assert other.status == "completed"
    assert other.for_model.startswith("[]\n")
    assert "NameError: name 'x' is not defined" in other.for_model
    assert container_of(other) != container_of(first)


@requires_bwrap
async def test_another_workspaces_container_in_the_history_is_not_used(
    runner: CodeInterpreterRunner,
) -> None:
    theirs = await runner.run(
        SPEC, {"code": "secret = 's3cr3t'\nopen('f.txt', 'w').write('hi')"}, context("ws_a")
    )
    # ws_b sends back an item naming ws_a's (live) container
    mine = await runner.run(
        SPEC,
        {"code": "import os\nprint(os.listdir('.'), 'secret' in globals())"},
        context("ws_b", theirs),
    )
    assert mine.status == "completed"
    assert mine.for_model.endswith("[] False")
    assert container_of(mine) != container_of(theirs)
    # told as a container that is gone: the same words as for an unknown id
    assert f"Container {container_of(theirs)} was not found or has expired." in mine.for_model
    # and ws_a's container is untouched
    again = await runner.run(SPEC, {"code": "print(secret)"}, context("ws_a", theirs))
    assert (again.for_model, container_of(again)) == ("s3cr3t", container_of(theirs))


@requires_bwrap
async def test_a_named_container_is_used(runner: CodeInterpreterRunner) -> None:
    first = await runner.run(SPEC, {"code": "x = 7"}, context("ws_a"))
    named = CodeInterpreter(container_id=container_of(first))
    # no history: the name alone finds it
    outcome = await runner.run(named, {"code": "print(x * 6)"}, context("ws_a"))
    assert (outcome.status, outcome.for_model) == ("completed", "42")
    assert container_of(outcome) == container_of(first)


@requires_bwrap
async def test_a_named_container_beats_the_conversations(runner: CodeInterpreterRunner) -> None:
    conversation = await runner.run(SPEC, {"code": "x = 'conversation'"}, context("ws_a"))
    elsewhere = await runner.run(SPEC, {"code": "x = 'named'"}, context("ws_a"))
    named = CodeInterpreter(container_id=container_of(elsewhere))
    outcome = await runner.run(named, {"code": "print(x)"}, context("ws_a", conversation))
    assert outcome.for_model == "named"


@requires_bwrap
@pytest.mark.parametrize("how", ["unknown", "removed", "another workspace's"])
async def test_a_named_container_that_is_not_there_fails(
    runner: CodeInterpreterRunner, how: str
) -> None:
    if how == "unknown":
        container_id = "cntr_0123456789abcdef0123456789abcdef"
    else:
        owner = "ws_a" if how == "removed" else "ws_other"
        container_id = container_of(await runner.run(SPEC, {"code": "1"}, context(owner)))
        if how == "removed":
            await runner.containers.remove(container_id)
    live_before = container_id in runner.containers
    named = CodeInterpreter(container_id=container_id)
    outcome = await runner.run(named, {"code": "print(1)"}, context("ws_a"))
    reason = f"Container {container_id} was not found or has expired."
    assert outcome.status == "failed"
    assert outcome.for_model == reason
    assert json.loads(outcome.output) == {
        "code": "print(1)",
        "outputs": [{"type": "logs", "logs": reason}],
        "container_id": container_id,
    }
    # no new container was made for it, and another's stays as it was
    assert (container_id in runner.containers) == live_before
    assert len(list(runner.containers.instance_dir.joinpath("containers").iterdir())) == (
        1 if how == "another workspace's" else 0
    )


class ExpiresBeforeItsRun(Containers):
    """Containers whose next run finds its container gone (expired after the lookup)."""

    expire_next = False

    async def run(self, container_id: str, code: str) -> Any:
        if self.expire_next:
            self.expire_next = False
            await self.remove(container_id)
        return await super().run(container_id, code)


@requires_bwrap
async def test_the_conversations_container_expiring_after_the_lookup(tmp_path: Path) -> None:
    pool = ExpiresBeforeItsRun(tmp_path / "sandbox", SMALL)
    tool = CodeInterpreterRunner(pool)
    try:
        first = await tool.run(SPEC, {"code": "x = 1"}, context("ws_a"))
        pool.expire_next = True
        outcome = await tool.run(SPEC, {"code": "print('x' in globals())"}, context("ws_a", first))
        assert outcome.status == "completed"
        assert outcome.for_model.endswith("of the earlier calls are gone.\nFalse")
        assert container_of(outcome) != container_of(first)
        # a named one expiring so is not replaced
        pool.expire_next = True
        named = CodeInterpreter(container_id=container_of(outcome))
        gone = await tool.run(named, {"code": "print(1)"}, context("ws_a"))
        assert (gone.status, gone.for_model) == (
            "failed",
            f"Container {container_of(outcome)} was not found or has expired.",
        )
    finally:
        await tool.aclose()


@requires_bwrap
async def test_instances_sharing_a_root_keep_their_containers(tmp_path: Path) -> None:
    first = Containers(tmp_path / "sandbox", SMALL)
    try:
        container_id = await first.create("ws_a")
        await first.run(container_id, "open('f.txt', 'w').write('kept')")
        second = Containers(tmp_path / "sandbox", SMALL)  # another process, same data dir
        try:
            assert second.instance_dir != first.instance_dir
            assert container_id not in second
            result = await first.run(container_id, "print(open('f.txt').read())")
            assert result.logs == "kept\n"
        finally:
            await second.aclose()
        assert first.instance_dir.exists()
        assert not second.instance_dir.exists()
    finally:
        await first.aclose()


async def test_a_dead_instances_leftovers_are_removed_and_a_live_ones_kept(
    tmp_path: Path,
) -> None:
    instances = tmp_path / "sandbox" / "instances"
    dead = instances / "999-dead"
    (dead / "containers" / "cntr_x").mkdir(parents=True)
    (dead / LOCK_FILE).touch()  # its lock: nobody holds it
    alive = instances / "998-alive"
    (alive / "containers" / "cntr_y").mkdir(parents=True)
    held = os.open(alive / LOCK_FILE, os.O_RDWR | os.O_CREAT)
    fcntl.flock(held, fcntl.LOCK_EX)  # held as its (live) instance holds it
    try:
        pool = Containers(tmp_path / "sandbox", SMALL)
        assert not dead.exists()
        assert (alive / "containers" / "cntr_y").is_dir()
        assert pool.instance_dir.parent == instances
        await pool.aclose()
    finally:
        os.close(held)
