"""The Responses code_interpreter over the in-process app, the scripted backend and a real
sandbox, driven by the official openai SDK: a chain (`previous_response_id`, a
conversation) keeps its variables from turn to turn, an unrelated request starts empty, a
container named by id is used and one that is not there fails the call, the tool is echoed
as sent, and the code streams as `_code.delta` events the SDK's stream helper takes."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import openai
import pytest

from openscope.backends.base import BackendFeatures
from openscope.backends.scripted import ScriptedBackend
from openscope.core.events import (
    ChoiceEnd,
    Event,
    FinishReason,
    PartDelta,
    PartEnd,
    PartKind,
    PartStart,
)
from openscope.core.messages import Role, ToolResultPart
from openscope.core.request import GenerateRequest
from tests.conftest import AppFactory
from tests.protocols.openai_responses.test_routes import MODEL, sdk
from tests.tools.code_interpreter.conftest import requires_bwrap

pytestmark = requires_bwrap

AUTO = {"type": "code_interpreter", "container": {"type": "auto"}}


def runs_the_input(request: GenerateRequest, choice: int) -> Sequence[Event]:
    """The model runs the user's text as code (its arguments in 5-character pieces), then
    answers with what the run gave it."""
    last = request.messages[-1]
    if last.role is Role.TOOL:
        result = last.parts[0]
        assert isinstance(result, ToolResultPart)
        return [
            PartStart(0, 0, PartKind.TEXT),
            PartDelta(0, 0, f"ran: {result.text}"),
            PartEnd(0, 0),
            ChoiceEnd(0, FinishReason.STOP),
        ]
    arguments = json.dumps({"code": last.text})
    return [
        PartStart(0, 0, PartKind.TOOL_CALL, tool_call_id="m1", tool_name="code_interpreter"),
        *(PartDelta(0, 0, arguments[n : n + 5]) for n in range(0, len(arguments), 5)),
        PartEnd(0, 0),
        ChoiceEnd(0, FinishReason.TOOL_CALLS),
    ]


@pytest.fixture
def client(scripted_client: AppFactory, tmp_path: Path) -> Iterator[openai.OpenAI]:
    backend = ScriptedBackend(runs_the_input, features=BackendFeatures(tools=True))
    tools = {
        "code_interpreter": {
            "enabled": True,
            "root_dir": str(tmp_path / "sandbox"),
            "timeout_seconds": 20,
            "memory_mb": 768,
        }
    }
    yield sdk(scripted_client(backend, tools=tools))


def call_of(response: Any) -> Any:
    call = response.output[0]
    assert call.type == "code_interpreter_call"
    return call


def run(client: openai.OpenAI, code: str, tool: Any = None, **fields: Any) -> Any:
    return client.responses.create(model=MODEL, input=code, tools=[tool or AUTO], **fields)


def test_a_chain_finds_the_variable_its_first_turn_set(client: openai.OpenAI) -> None:
    first = run(client, "x = 6 * 7\nprint(x)")
    assert call_of(first).outputs[0].logs == "42\n"
    assert first.output_text == "ran: 42"
    second = run(client, "print(x + 1)", previous_response_id=first.id)
    call = call_of(second)
    assert (call.status, call.outputs[0].logs) == ("completed", "43\n")
    assert call.container_id == call_of(first).container_id
    assert second.output_text == "ran: 43"
    assert second.usage.model_dump()["x_tools"] == {"code_interpreter": {"count": 1}}
    # the tool is echoed as it was sent
    assert [t.model_dump(exclude_unset=True) for t in second.tools] == [AUTO]


def test_an_unrelated_request_starts_empty(client: openai.OpenAI) -> None:
    first = run(client, "x = 42")
    other = run(client, "print('x' in globals())")
    assert call_of(other).outputs[0].logs == "False\n"
    assert call_of(other).container_id != call_of(first).container_id


def test_items_sent_back_keep_the_container_without_storing(client: openai.OpenAI) -> None:
    first = run(client, "x = 6 * 7", store=False)
    history = [item.model_dump(exclude_none=True) for item in first.output]
    then = [*history, {"role": "user", "content": "print(x + 1)"}]
    second = client.responses.create(model=MODEL, input=then, tools=[AUTO], store=False)  # type: ignore[arg-type]
    assert call_of(second).outputs[0].logs == "43\n"
    assert call_of(second).container_id == call_of(first).container_id


def test_a_conversation_keeps_its_state(client: openai.OpenAI) -> None:
    conversation = client.conversations.create()
    run(client, "total = 10", conversation=conversation.id)
    again = run(client, "total += 5\nprint(total)", conversation=conversation.id)
    assert call_of(again).outputs[0].logs == "15\n"


def test_a_container_named_by_id_is_used_and_echoed(client: openai.OpenAI) -> None:
    first = run(client, "x = 21")
    container_id = call_of(first).container_id
    tool = {"type": "code_interpreter", "container": container_id}
    named = run(client, "print(x * 2)", tool)  # no chain: the id alone finds it
    assert call_of(named).outputs[0].logs == "42\n"
    assert call_of(named).container_id == container_id
    assert [t.model_dump(exclude_unset=True) for t in named.tools] == [tool]
    kept = client.responses.retrieve(named.id).tools
    assert [t.model_dump(exclude_unset=True) for t in kept] == [tool]


def test_a_named_container_that_is_not_there_fails_the_call(client: openai.OpenAI) -> None:
    gone = "cntr_00000000000000000000000000000000"
    response = run(client, "print(1)", {"type": "code_interpreter", "container": gone})
    call = call_of(response)
    reason = f"Container {gone} was not found or has expired."
    assert call.status == "failed"
    assert (call.container_id, call.outputs[0].logs) == (gone, reason)
    assert response.output_text == f"ran: {reason}"  # the model read it too
    assert "x_tools" not in response.usage.model_dump()  # no code ran


def test_a_container_id_of_the_wrong_shape_is_a_400(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        run(client, "print(1)", {"type": "code_interpreter", "container": "box-1"})
    body: dict[str, Any] = caught.value.body  # type: ignore[assignment]
    assert body["code"] == "invalid_parameter_error"
    assert "'box-1' is not a container id" in body["message"]


def test_the_code_streams_and_the_sdk_helper_keeps_it(client: openai.OpenAI) -> None:
    first = run(client, "x = 'stream'")
    code = 'print(x, "\\u00e9\\n")'
    with client.responses.stream(
        model=MODEL, input=code, tools=[AUTO], previous_response_id=first.id
    ) as stream:
        events = list(stream)
        final = stream.get_final_response()
    kinds = [e.type for e in events]
    deltas = [e.delta for e in events if e.type == "response.code_interpreter_call_code.delta"]
    assert len(deltas) > 1
    done = next(e for e in events if e.type == "response.code_interpreter_call_code.done")
    assert "".join(deltas) == done.code == code == call_of(final).code
    assert kinds.index("response.code_interpreter_call_code.done") < kinds.index(
        "response.code_interpreter_call.interpreting"
    )
    numbers = [e.sequence_number for e in events]
    assert numbers == sorted(set(numbers))
    assert call_of(final).outputs[0].logs == "stream é\n\n"
    assert call_of(final).container_id == call_of(first).container_id
