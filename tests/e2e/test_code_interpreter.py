"""The code interpreter run by openscope itself in a real server with a real bubblewrap
sandbox: a call becomes a `code_interpreter_call` item with the code, what it printed and
its container, streamed with its progress events.

The model is the scripted echo backend, which calls the offered tool with the user's text
as its argument and then says what the tool returned: the 135M embedded model, forced to
call, rambles inside the code string until its token limit (measured: 300 of 300 tokens,
the string never closed), so it cannot show a run that completes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import CONFIG, SCRIPTED, Server, openai_sdk, serving
from tests.tools.code_interpreter.conftest import requires_bwrap

pytestmark = requires_bwrap  # .ci/run installs it
CODE = "print(123 * 456)"


@pytest.fixture(scope="module")
def interpreting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("code-interpreter")
    config = CONFIG + "\n[tools.code_interpreter]\nenabled = true\n"
    with serving(workdir, config=config) as server:
        yield server


def test_responses_code_interpreter_call_carries_code_logs_and_container(
    interpreting: Server,
) -> None:
    client = openai_sdk(interpreting)
    response = client.responses.create(
        model=SCRIPTED,
        input=CODE,
        tools=[{"type": "code_interpreter", "container": {"type": "auto"}}],
    )
    call = response.output[0].model_dump()
    assert [item.type for item in response.output] == ["code_interpreter_call", "message"]
    assert call["status"] == "completed"
    assert call["code"] == CODE
    assert call["container_id"].startswith("cntr_")
    assert call["outputs"] == [{"type": "logs", "logs": "56088\n"}]
    # the model's next turn read what the code printed
    assert response.output_text == "The tool returned: 56088"
    assert response.usage is not None
    assert response.usage.model_dump()["x_tools"] == {"code_interpreter": {"count": 1}}
    stored = client.responses.retrieve(response.id)
    assert stored.output[0].model_dump() == call


def test_responses_stream_shows_the_run_as_it_happens(interpreting: Server) -> None:
    client = openai_sdk(interpreting)
    with client.responses.stream(
        model=SCRIPTED,
        input=CODE,
        tools=[{"type": "code_interpreter", "container": {"type": "auto"}}],
    ) as stream:
        events = list(stream)
    types = [e.type for e in events]
    added = types.index("response.output_item.added")
    assert events[added].item.type == "code_interpreter_call"  # type: ignore[union-attr]
    assert types.index("response.code_interpreter_call.in_progress") > added
    interpreting_at = types.index("response.code_interpreter_call.interpreting")
    done_at = types.index("response.output_item.done")
    assert interpreting_at < types.index("response.code_interpreter_call.completed") < done_at
    numbers = [e.sequence_number for e in events]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)

    deltas = [e for e in events if e.type == "response.code_interpreter_call_code.delta"]
    assert "".join(e.delta for e in deltas) == CODE  # type: ignore[union-attr]
    (code_done,) = [e for e in events if e.type == "response.code_interpreter_call_code.done"]
    assert code_done.code == CODE  # type: ignore[union-attr]
    assert types.index("response.code_interpreter_call_code.done") < interpreting_at
    final = stream.get_final_response()
    assert final.output[0].model_dump()["outputs"][0]["logs"] == "56088\n"


def test_a_chained_turn_runs_in_the_conversations_container(interpreting: Server) -> None:
    client = openai_sdk(interpreting)
    tools: list[Any] = [{"type": "code_interpreter", "container": {"type": "auto"}}]
    first = client.responses.create(model=SCRIPTED, input="x = 41", tools=tools)
    second = client.responses.create(
        model=SCRIPTED, input="print(x + 1)", tools=tools, previous_response_id=first.id
    )
    unrelated = client.responses.create(model=SCRIPTED, input="print(x + 1)", tools=tools)

    one, two, other = (r.output[0].model_dump() for r in (first, second, unrelated))
    assert two["container_id"] == one["container_id"]
    assert two["outputs"] == [{"type": "logs", "logs": "42\n"}]
    # a request outside the chain gets a container of its own, without x
    assert other["container_id"] != one["container_id"]
    assert "NameError" in other["outputs"][0]["logs"]


def _processes_running(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue  # gone meanwhile
    return found


def test_a_client_hanging_up_mid_run_has_the_cell_killed(interpreting: Server) -> None:
    marker = "913.25"  # a sleep nothing else on the machine runs
    code = f"import subprocess; subprocess.run(['sleep', '{marker}'])"
    client = openai_sdk(interpreting)
    with client.responses.stream(
        model=SCRIPTED,
        input=code,
        tools=[{"type": "code_interpreter", "container": {"type": "auto"}}],
    ) as stream:
        for event in stream:
            if event.type == "response.code_interpreter_call.interpreting":
                break
        deadline = time.monotonic() + 10
        while not _processes_running(marker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _processes_running(marker), "the cell never started"
    # leaving the block closed the connection: the server cancels the run and its cell
    deadline = time.monotonic() + 10
    while _processes_running(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _processes_running(marker)
