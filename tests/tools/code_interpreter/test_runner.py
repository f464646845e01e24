"""CodeInterpreterRunner against the real bwrap: the item's fields, one container per
workspace (state kept, other workspaces apart), figures as images, sandbox failures and the
model's bad arguments as failed outcomes, idle expiry and closing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from openscope.core.builtin_tools import BuiltinToolKind, CodeInterpreter
from openscope.core.messages import BuiltinResultPart
from openscope.core.tool_runner import ToolContext
from openscope.tools.code_interpreter import CodeInterpreterRunner, Containers
from tests.tools.code_interpreter.conftest import SMALL, requires_bwrap

SPEC = CodeInterpreter()


def context(workspace: str = "ws_a") -> ToolContext:
    return ToolContext(request_id="req_1", workspace=workspace)


@pytest.fixture
async def runner(containers: Containers) -> AsyncIterator[CodeInterpreterRunner]:
    tool = CodeInterpreterRunner(containers)
    yield tool
    await tool.aclose()


def test_offers_a_code_function(tmp_path: Path) -> None:
    tool = CodeInterpreterRunner(Containers(tmp_path / "sandbox", SMALL))
    assert tool.kind is BuiltinToolKind.CODE_INTERPRETER
    spec = tool.function(SPEC)
    assert spec.name == "code_interpreter"
    assert spec.parameters["required"] == ["code"]
    assert spec.parameters["properties"]["code"]["type"] == "string"


@pytest.mark.parametrize("arguments", [{}, {"code": 12}, {"code": "  \n"}, {"source": "1"}])
async def test_arguments_without_code_fail_without_a_container(
    tmp_path: Path, arguments: dict[str, Any]
) -> None:
    pool = Containers(tmp_path / "sandbox", SMALL)
    outcome = await CodeInterpreterRunner(pool).run(SPEC, arguments, context())
    assert outcome.status == "failed"
    assert outcome.for_model == (
        "The code_interpreter call needs `code`: a non-empty string of Python."
    )
    output = json.loads(outcome.output)
    assert output["outputs"] == [{"type": "logs", "logs": outcome.for_model}]
    assert "container_id" not in output
    assert not list((tmp_path / "sandbox" / "containers").iterdir())


async def test_a_sandbox_that_cannot_start_is_a_failed_outcome(tmp_path: Path) -> None:
    pool = Containers(tmp_path / "sandbox", replace(SMALL, bwrap="/nonexistent/bwrap"))
    tool = CodeInterpreterRunner(pool)
    outcome = await tool.run(SPEC, {"code": "print(1)"}, context())
    assert outcome.status == "failed"
    assert outcome.for_model.startswith("The code did not finish: the sandbox cannot start: ")
    output = json.loads(outcome.output)
    assert output["code"] == "print(1)"
    assert output["container_id"].startswith("cntr_")
    assert output["outputs"][0]["logs"].startswith("[sandbox] the sandbox cannot start")
    await tool.aclose()


@requires_bwrap
async def test_a_run_gives_the_items_fields(runner: CodeInterpreterRunner) -> None:
    outcome = await runner.run(SPEC, {"code": "print(12**3)"}, context())
    assert outcome.status == "completed"
    assert outcome.for_model == "1728"
    container_id = runner.container_of("ws_a")
    assert container_id is not None
    assert json.loads(outcome.output) == {
        "code": "print(12**3)",
        "outputs": [{"type": "logs", "logs": "1728\n"}],
        "container_id": container_id,
    }


@requires_bwrap
async def test_a_workspace_keeps_its_state_and_others_do_not_see_it(
    runner: CodeInterpreterRunner,
) -> None:
    await runner.run(SPEC, {"code": "x = 41\nopen('f.txt', 'w').write('hi')"}, context("ws_a"))
    again = await runner.run(SPEC, {"code": "print(x + 1, open('f.txt').read())"}, context("ws_a"))
    assert again.for_model == "42 hi"
    other = await runner.run(
        SPEC, {"code": "import os\nprint(os.listdir('.'))\nx"}, context("ws_b")
    )
    # the user's code raising is a completed call: the model reads the traceback
    assert other.status == "completed"
    assert other.for_model.startswith("[]\n")
    assert "NameError: name 'x' is not defined" in other.for_model
    ids = {json.loads(o.output)["container_id"] for o in (again, other)}
    assert len(ids) == 2


@requires_bwrap
async def test_nothing_printed_is_said(runner: CodeInterpreterRunner) -> None:
    outcome = await runner.run(SPEC, {"code": "y = 1"}, context())
    assert outcome.for_model == "(the code ran and printed nothing)"
    assert json.loads(outcome.output)["outputs"] == [{"type": "logs", "logs": ""}]


@requires_bwrap
async def test_a_figure_is_an_image_output(runner: CodeInterpreterRunner) -> None:
    code = "import matplotlib.pyplot as plt\nplt.plot([1, 2], [3, 4])\nplt.show()"
    outcome = await runner.run(SPEC, {"code": code}, context())
    assert outcome.status == "completed"
    assert outcome.for_model.endswith("[1 image was produced and shown to the user]")
    outputs = json.loads(outcome.output)["outputs"]
    assert [o["type"] for o in outputs] == ["logs", "image"]
    assert outputs[1]["url"].startswith("data:image/png;base64,iVBORw0KGgo")


@requires_bwrap
async def test_the_time_limit_is_a_failed_outcome_with_what_was_printed(
    runner: CodeInterpreterRunner,
) -> None:
    code = "print('started', flush=True)\nimport time\ntime.sleep(30)"
    outcome = await runner.run(SPEC, {"code": code}, context())
    assert outcome.status == "failed"
    assert outcome.for_model.startswith("The code did not finish: the code ran longer than")
    logs = json.loads(outcome.output)["outputs"][0]["logs"]
    assert logs.endswith(f"[sandbox] {outcome.for_model.split(': ', 1)[1][:-1]}")
    # the container survives: the next call runs (in a fresh Python)
    after = await runner.run(SPEC, {"code": "print('again')"}, context())
    assert after.status == "completed"
    assert after.for_model.endswith("again")


@requires_bwrap
async def test_long_logs_are_cut_for_the_model_only(containers: Containers) -> None:
    tool = CodeInterpreterRunner(containers, max_logs_for_model=200)
    outcome = await tool.run(SPEC, {"code": "print('a' * 1000 + 'END')"}, context())
    assert len(outcome.for_model) < 300
    assert "[... 804 characters cut ...]" in outcome.for_model
    assert outcome.for_model.endswith("aEND")
    assert json.loads(outcome.output)["outputs"][0]["logs"] == "a" * 1000 + "END\n"


@requires_bwrap
async def test_idle_containers_expire_and_the_workspace_gets_a_new_one(tmp_path: Path) -> None:
    now = [0.0]
    pool = Containers(tmp_path / "sandbox", SMALL, clock=lambda: now[0])
    tool = CodeInterpreterRunner(pool)
    try:
        await tool.run(SPEC, {"code": "x = 1"}, context())
        first = tool.container_of("ws_a")
        now[0] += SMALL.idle_seconds + 1
        assert await tool.expire_idle() == [first]
        assert tool.container_of("ws_a") is None
        outcome = await tool.run(SPEC, {"code": "print('x' in globals())"}, context())
        assert outcome.for_model == "False"
        assert json.loads(outcome.output)["container_id"] not in (first, None)
    finally:
        await tool.aclose()


@requires_bwrap
async def test_aclose_removes_every_container(containers: Containers) -> None:
    tool = CodeInterpreterRunner(containers)
    await tool.run(SPEC, {"code": "1"}, context("ws_a"))
    container_id = tool.container_of("ws_a")
    await tool.aclose()
    assert container_id not in containers
    assert tool.container_of("ws_a") is None


def test_the_model_log_cap_has_a_floor(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 100"):
        CodeInterpreterRunner(Containers(tmp_path / "s", SMALL), max_logs_for_model=10)


class ExpiresOnce(Containers):
    """Containers whose first run finds its container gone (expired after the lookup)."""

    expired_once = False

    async def run(self, container_id: str, code: str) -> Any:
        if not self.expired_once:
            self.expired_once = True
            await self.remove(container_id)
        return await super().run(container_id, code)


@requires_bwrap
async def test_a_container_expiring_after_the_lookup_is_replaced_once(tmp_path: Path) -> None:
    tool = CodeInterpreterRunner(ExpiresOnce(tmp_path / "sandbox", SMALL))
    try:
        outcome = await tool.run(SPEC, {"code": "print('ran')"}, context())
        assert (outcome.status, outcome.for_model) == ("completed", "ran")
        assert json.loads(outcome.output)["container_id"] == tool.container_of("ws_a")
    finally:
        await tool.aclose()


def test_recall_gives_the_logs_and_counts_images_without_their_bytes(tmp_path: Path) -> None:
    tool = CodeInterpreterRunner(Containers(tmp_path / "sandbox", SMALL), max_logs_for_model=100)
    output = json.dumps(
        {
            "code": "print('x' * 500)",
            "outputs": [
                {"type": "logs", "logs": "x" * 500},
                {"type": "image", "url": "data:image/png;base64,AAAA"},
            ],
        }
    )
    text = tool.recall(BuiltinResultPart("ci_1", BuiltinToolKind.CODE_INTERPRETER, output))
    assert "characters cut" in text and len(text) < 250
    assert "[1 image(s) were produced and shown to the user]" in text
    assert "base64" not in text
    failed = BuiltinResultPart(
        "ci_2", BuiltinToolKind.CODE_INTERPRETER, '{"error": "timed out"}', status="failed"
    )
    assert tool.recall(failed) == "The code did not run: timed out"
