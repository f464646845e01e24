"""A code_interpreter call streams its code as OpenAI does (builtin-tools.md §3.4):
`output_item.added`, `.in_progress`, `response.code_interpreter_call_code.delta` as the
model writes the code, `_code.done`, `.interpreting`, then `.completed` and
`output_item.done` once it ran; each event with the SDK's exact fields, the sequence
numbers increasing, and the deltas adding up to the item's code. The official SDK's stream
accumulator takes the stream."""

from __future__ import annotations

import json
from typing import Any

import pytest
from openai import omit
from openai._models import construct_type
from openai.lib.streaming.responses._responses import ResponseStreamState
from openai.types.responses import (
    ResponseCodeInterpreterCallCodeDeltaEvent,
    ResponseCodeInterpreterCallCodeDoneEvent,
    ResponseCodeInterpreterCallInProgressEvent,
    ResponseCodeInterpreterCallInterpretingEvent,
    ResponseStreamEvent,
)

from openscope.core.builtin_tools import BuiltinToolKind
from openscope.core.events import (
    ChoiceEnd,
    Event,
    FinishReason,
    PartDelta,
    PartEnd,
    PartKind,
    PartStart,
)
from openscope.core.fold import fold
from openscope.core.messages import Message, Role, TextPart
from openscope.core.request import GenerateRequest
from openscope.core.state import Item, TurnSettings
from openscope.core.turns import Turn, turn_record
from openscope.protocols.openai_responses.stream import ResponseStreamEncoder

CODE = BuiltinToolKind.CODE_INTERPRETER
SOURCE = 'import math\nprint("π ≈", round(math.pi, 2), "\\\\ \U0001f600")\n'


def pieces(text: str, size: int) -> list[str]:
    return [text[n : n + size] for n in range(0, len(text), size)]


def ran_code(arguments: str, size: int, output: dict[str, Any] | None = None) -> list[Event]:
    """The tool loop's events: the model's call streaming in `size`-character pieces, its
    result, then the answer."""
    result = output or {
        "code": json.loads(arguments).get("code"),
        "outputs": [{"type": "logs", "logs": "π ≈ 3.14\n"}],
        "container_id": "cntr_1",
    }
    return [
        PartStart(0, 0, PartKind.BUILTIN_CALL, tool_call_id="ci_1", tool_name=CODE),
        *(PartDelta(0, 0, piece) for piece in pieces(arguments, size)),
        PartEnd(0, 0),
        PartStart(0, 1, PartKind.BUILTIN_RESULT, tool_call_id="ci_1", tool_name=CODE),
        PartDelta(0, 1, json.dumps(result, ensure_ascii=False)),
        PartEnd(0, 1),
        PartStart(0, 2, PartKind.TEXT),
        PartDelta(0, 2, "3.14"),
        PartEnd(0, 2),
        ChoiceEnd(0, FinishReason.STOP),
    ]


def turn() -> Turn:
    message = Message(Role.USER, (TextPart("pi?"),))
    request = GenerateRequest(model="m", messages=(message,))
    return Turn("resp_x", 1, request, (Item("msg_in", message),), TurnSettings())


def stream(events: list[Event]) -> list[dict[str, Any]]:
    encoder = ResponseStreamEncoder(turn_record(turn(), fold([])))
    out = encoder.start()
    out += [e for event in events for e in encoder.encode(event)]
    out += encoder.finish(turn_record(turn(), fold(events)))
    return out


# the escapes ("\\n", "\\"", "\\\\", "\\ud83d\\ude00") fall across pieces at every size
@pytest.mark.parametrize("ensure_ascii", [True, False])
@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 1000])
def test_the_code_streams_between_in_progress_and_interpreting(
    size: int, ensure_ascii: bool
) -> None:
    arguments = json.dumps({"code": SOURCE}, ensure_ascii=ensure_ascii)
    sent = stream(ran_code(arguments, size))
    numbers = [e["sequence_number"] for e in sent]
    assert numbers == list(range(len(sent)))
    of_call = [e for e in sent if e.get("output_index") == 0]
    kinds = [e["type"] for e in of_call]
    deltas = kinds.count("response.code_interpreter_call_code.delta")
    assert deltas >= 1
    assert kinds == [
        "response.output_item.added",
        "response.code_interpreter_call.in_progress",
        *["response.code_interpreter_call_code.delta"] * deltas,
        "response.code_interpreter_call_code.done",
        "response.code_interpreter_call.interpreting",
        "response.code_interpreter_call.completed",
        "response.output_item.done",
    ]
    added, done = of_call[0]["item"], of_call[-1]["item"]
    item_id = added["id"]
    assert added == {
        "id": item_id,
        "type": "code_interpreter_call",
        "status": "in_progress",
        "code": "",
    }
    code = "".join(e["delta"] for e in of_call[2 : 2 + deltas])
    assert code == SOURCE == done["code"]
    assert of_call[2 + deltas]["code"] == SOURCE
    assert done["container_id"] == "cntr_1" and done["status"] == "completed"
    assert all(e["item_id"] == item_id for e in of_call[1:-1])
    if size == 1:  # one character a piece: a delta as soon as a character is certain
        assert deltas > len(SOURCE) // 2


@pytest.mark.parametrize(
    ("type_", "model"),
    [
        ("response.code_interpreter_call_code.delta", ResponseCodeInterpreterCallCodeDeltaEvent),
        ("response.code_interpreter_call_code.done", ResponseCodeInterpreterCallCodeDoneEvent),
        ("response.code_interpreter_call.in_progress", ResponseCodeInterpreterCallInProgressEvent),
        (
            "response.code_interpreter_call.interpreting",
            ResponseCodeInterpreterCallInterpretingEvent,
        ),
    ],
)
def test_each_event_has_the_sdks_fields_exactly(type_: str, model: Any) -> None:
    sent = stream(ran_code(json.dumps({"code": SOURCE}), 4))
    event = next(e for e in sent if e["type"] == type_)
    assert set(event) == set(model.model_fields)
    parsed = model.model_validate(event)  # validated, not just constructed
    assert parsed.type == type_


def test_the_sdk_stream_accumulator_takes_the_stream() -> None:
    state: ResponseStreamState[Any] = ResponseStreamState(input_tools=omit, text_format=omit)
    seen: list[str] = []
    for raw in stream(ran_code(json.dumps({"code": SOURCE}), 3)):
        event = construct_type(type_=ResponseStreamEvent, value=raw)
        for handled in state.handle_event(event):  # type: ignore[arg-type]
            seen.append(handled.type)
    assert "response.code_interpreter_call_code.delta" in seen
    response = state._completed_response
    assert response is not None
    call = response.output[0]
    assert call.type == "code_interpreter_call"
    assert call.code == SOURCE
    assert call.outputs is not None and call.outputs[0].logs == "π ≈ 3.14\n"  # type: ignore[union-attr]
    assert response.output_text == "3.14"


def test_code_the_deltas_could_not_read_ends_with_what_was_seen() -> None:
    # not JSON the tool loop can run: the call fails; the code seen stands in `done`
    failed = {"error": "The arguments of code_interpreter are not valid JSON."}
    sent = stream(ran_code('{"code": "print(1)\n"', 4, failed))
    deltas = [e["delta"] for e in sent if e["type"].endswith("_code.delta")]
    done = next(e for e in sent if e["type"].endswith("_code.done"))
    assert "".join(deltas) == done["code"] == "print(1)\n"


def test_other_tools_are_still_added_when_their_arguments_are_whole() -> None:
    search = BuiltinToolKind.WEB_SEARCH
    events: list[Event] = [
        PartStart(0, 0, PartKind.BUILTIN_CALL, tool_call_id="ws_1", tool_name=search),
        PartDelta(0, 0, '{"query": '),
        PartDelta(0, 0, '"tides"}'),
    ]
    encoder = ResponseStreamEncoder(turn_record(turn(), fold([])))
    assert [e for event in events for e in encoder.encode(event)] == []
    closed = encoder.encode(PartEnd(0, 0))
    assert [e["type"] for e in closed] == [
        "response.output_item.added",
        "response.web_search_call.in_progress",
        "response.web_search_call.searching",
    ]
    assert closed[0]["item"]["action"] == {"type": "search", "query": "tides"}
