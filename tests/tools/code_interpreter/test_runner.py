"""CodeInterpreterRunner against the real bwrap: the item's fields, figures as images,
sandbox failures and the model's bad arguments as failed outcomes, idle expiry and closing.
(Which container a call runs in: test_container_scope.py.)"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from openscope.core.builtin_tools import BuiltinToolKind, CodeInterpreter
from openscope.core.messages import BuiltinResultPart
from openscope.core.tool_runner import ToolContext, ToolOutcome
from openscope.tools.code_interpreter import CodeInterpreterRunner, Containers
from tests.tools.code_interpreter.conftest import SMALL, requires_bwrap

SPEC = CodeInterpreter()


def context(workspace: str = "ws_a", *earlier: str) -> ToolContext:
    """A call's context; `earlier`: outputs of the conversation's earlier code runs."""
    results = tuple(
        BuiltinResultPart(f"ci_{n}", BuiltinToolKind.CODE_INTERPRETER, output)
        for n, output in enumerate(earlier)
    )
    return ToolContext(request_id="req_1", workspace=workspace, earlier=results)


def container_of(outcome: ToolOutcome) -> str:
    container_id = json.loads(outcome.output)["container_id"]
    assert isinstance(container_id, str)
    return container_id


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
    assert not list(pool.instance_dir.joinpath("containers").iterdir())


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
    container_id = container_of(outcome)
    assert container_id in runner.containers
    assert json.loads(outcome.output) == {
        "code": "print(12**3)",
        "outputs": [{"type": "logs", "logs": "1728\n"}],
        "container_id": container_id,
    }


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
    # the container survives: the conversation's next call runs in it (a fresh Python)
    after = await runner.run(SPEC, {"code": "print('again')"}, context("ws_a", outcome.output))
    assert after.status == "completed"
    assert after.for_model.endswith("again")
    assert container_of(after) == container_of(outcome)


@requires_bwrap
async def test_long_logs_are_cut_for_the_model_only(containers: Containers) -> None:
    tool = CodeInterpreterRunner(containers, max_logs_for_model=200)
    outcome = await tool.run(SPEC, {"code": "print('a' * 1000 + 'END')"}, context())
    assert len(outcome.for_model) < 300
    assert "[... 804 characters cut ...]" in outcome.for_model
    assert outcome.for_model.endswith("aEND")
    assert json.loads(outcome.output)["outputs"][0]["logs"] == "a" * 1000 + "END\n"


@requires_bwrap
async def test_idle_containers_expire_and_the_conversation_is_told(tmp_path: Path) -> None:
    now = [0.0]
    pool = Containers(tmp_path / "sandbox", SMALL, clock=lambda: now[0])
    tool = CodeInterpreterRunner(pool)
    try:
        before = await tool.run(SPEC, {"code": "x = 1"}, context())
        first = container_of(before)
        now[0] += SMALL.idle_seconds + 1
        assert await tool.expire_idle() == [first]
        assert first not in pool
        code = {"code": "print('x' in globals())"}
        outcome = await tool.run(SPEC, code, context("ws_a", before.output))
        assert outcome.status == "completed"
        assert outcome.for_model == (
            f"[sandbox] Container {first} was not found or has expired. This code ran in a "
            "new, empty container: variables and files of the earlier calls are gone.\nFalse"
        )
        assert container_of(outcome) not in (first, None)
        assert json.loads(outcome.output)["outputs"][0]["logs"].endswith("\nFalse\n")
    finally:
        await tool.aclose()


@requires_bwrap
async def test_aclose_removes_every_container(containers: Containers) -> None:
    tool = CodeInterpreterRunner(containers)
    container_id = container_of(await tool.run(SPEC, {"code": "1"}, context("ws_a")))
    assert containers.instance_dir.exists()
    await tool.aclose()
    assert container_id not in containers
    assert not containers.instance_dir.exists()


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
    pool = ExpiresOnce(tmp_path / "sandbox", SMALL)
    tool = CodeInterpreterRunner(pool)
    try:
        outcome = await tool.run(SPEC, {"code": "print('ran')"}, context())
        assert (outcome.status, outcome.for_model) == ("completed", "ran")
        assert container_of(outcome) in pool
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
