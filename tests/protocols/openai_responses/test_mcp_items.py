"""The `mcp` tool on the Responses API: its options decoded (and refused), echoed without
its headers; its items decoded from `input` and shown back the same; its stream events in
OpenAI's order with the SDK's fields; the SDK's stream accumulator takes them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from openai import omit
from openai._models import construct_type
from openai.lib.streaming.responses._responses import ResponseStreamState
from openai.types.responses import (
    ResponseMcpCallArgumentsDeltaEvent,
    ResponseMcpCallArgumentsDoneEvent,
    ResponseMcpCallCompletedEvent,
    ResponseMcpCallFailedEvent,
    ResponseMcpCallInProgressEvent,
    ResponseMcpListToolsCompletedEvent,
    ResponseMcpListToolsInProgressEvent,
    ResponseOutputItem,
    ResponseStreamEvent,
)

from openscope.core.builtin_tools import BuiltinToolKind, Mcp, McpApprovalPolicy
from openscope.core.codec import settings_from_dict, settings_to_dict
from openscope.core.errors import InvalidParameter
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
from openscope.core.mcp import (
    McpCallStep,
    McpFailure,
    McpStep,
    McpToolInfo,
    call_output,
    listed_output,
)
from openscope.core.messages import BuiltinCallPart, BuiltinResultPart, Message, Role, TextPart
from openscope.core.request import GenerateRequest
from openscope.core.state import Item, TurnSettings
from openscope.core.turns import Turn, turn_record
from openscope.protocols.openai_responses.decode import decode, input_items
from openscope.protocols.openai_responses.encode import response_body
from openscope.protocols.openai_responses.items import item_body
from openscope.protocols.openai_responses.mcp_items import mcp_item_body
from openscope.protocols.openai_responses.schemas import ItemWire
from openscope.protocols.openai_responses.stream import ResponseStreamEncoder

MCP = BuiltinToolKind.MCP
SERVER = {"type": "mcp", "server_label": "maps", "server_url": "https://maps.example/sse"}


def tools_of(*tools: dict[str, Any]) -> tuple[Any, ...]:
    turn, _ = decode({"model": "qwen-plus", "input": "hi", "tools": list(tools)})
    return turn.request.builtin_tools


def refusal(*tools: dict[str, Any]) -> str:
    with pytest.raises(InvalidParameter) as caught:
        tools_of(*tools)
    assert caught.value.param == "tools"
    return caught.value.message


# -- the tool -------------------------------------------------------------------------------


def test_the_defaults_are_model_studios() -> None:
    (tool,) = tools_of(SERVER | {"headers": {"Authorization": "Bearer t"}})
    assert tool == Mcp(
        "maps", "https://maps.example/sse", "sse", headers={"Authorization": "Bearer t"}
    )
    assert tool.require_approval == McpApprovalPolicy()  # never: Model Studio asks nothing
    assert tool.allowed_tools is None


@pytest.mark.parametrize(
    ("value", "policy"),
    [
        ("never", McpApprovalPolicy()),
        ("always", McpApprovalPolicy(default=True)),
        ({"never": {"tool_names": ["a"]}}, McpApprovalPolicy(True, never=("a",))),
        ({"always": {"tool_names": ["b"]}}, McpApprovalPolicy(False, always=("b",))),
        (
            {"always": {"tool_names": ["b"]}, "never": {"tool_names": ["a"]}},
            McpApprovalPolicy(True, ("b",), ("a",)),
        ),
    ],
)
def test_require_approval(value: Any, policy: McpApprovalPolicy) -> None:
    (tool,) = tools_of(SERVER | {"require_approval": value})
    assert tool.require_approval == policy


def test_allowed_tools_as_a_list_or_a_filter_and_streamable_http() -> None:
    listed, filtered = tools_of(
        SERVER | {"allowed_tools": ["a"], "server_protocol": "streamable_http"},
        SERVER | {"server_label": "other", "allowed_tools": {"tool_names": ["b"]}},
    )
    assert listed.allowed_tools == ("a",) and listed.server_protocol == "streamable_http"
    assert filtered.allowed_tools == ("b",)


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"server_protocol": "websocket"}, "server_protocol must be one of sse, streamable_http"),
        ({"server_label": "has space"}, "may hold only letters"),
        ({"server_url": "file:///etc/passwd"}, "http or https"),
        ({"server_url": None}, "needs server_label and server_url"),
        ({"headers": {"a": 1}}, "headers must map strings"),
        ({"allowed_tools": {"read_only": True}}, "read_only is not supported"),
        ({"allowed_tools": "a"}, "tool_names"),
        ({"require_approval": "sometimes"}, "require_approval"),
        ({"connector_id": "x"}, "does not support 'connector_id'"),
    ],
)
def test_bad_options_are_refused(changes: dict[str, Any], fragment: str) -> None:
    assert fragment in refusal(SERVER | changes)


def test_at_most_ten_servers_each_with_its_own_label() -> None:
    many = [SERVER | {"server_label": f"s{i}"} for i in range(11)]
    assert "at most 10 mcp servers" in refusal(*many)
    assert len(tools_of(*many[:10])) == 10
    assert "used twice" in refusal(SERVER, SERVER)


def test_the_turn_keeps_and_echoes_the_tool_without_its_headers() -> None:
    (tool,) = tools_of(
        SERVER
        | {
            "headers": {"Authorization": "Bearer s3cret"},
            "allowed_tools": ["a"],
            "require_approval": {"never": {"tool_names": ["a"]}},
        }
    )
    settings = TurnSettings(builtin_tools=(tool,))
    kept = settings_to_dict(settings)
    assert "s3cret" not in json.dumps(kept)
    (back,) = settings_from_dict(kept).builtin_tools
    assert back == Mcp(
        "maps",
        "https://maps.example/sse",
        allowed_tools=("a",),
        require_approval=McpApprovalPolicy(True, never=("a",)),
    )
    record = turn_record(Turn("resp_x", 1, GenerateRequest("m", ()), (), settings), fold([]))
    assert response_body(record)["tools"] == [
        SERVER
        | {
            "server_protocol": "sse",
            "allowed_tools": ["a"],
            "require_approval": {"never": {"tool_names": ["a"]}},
        }
    ]


# -- items ----------------------------------------------------------------------------------

LISTING = {
    "type": "mcp_list_tools",
    "id": "mcpl_1",
    "server_label": "maps",
    "tools": [
        {
            "name": "weather",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
            "description": "The weather.",
            "annotations": {"readOnlyHint": True},
        }
    ],
}
CALL = {
    "type": "mcp_call",
    "id": "mcp_1",
    "server_label": "maps",
    "name": "weather",
    "arguments": '{"city": "Hangzhou"}',
    "status": "completed",
    "output": "sunny",
    "error": None,
}
FAILED = CALL | {
    "id": "mcp_2",
    "status": "failed",
    "output": None,
    "error": {"type": "mcp_tool_execution_error", "content": [{"type": "text", "text": "no"}]},
}
REQUEST = {
    "type": "mcp_approval_request",
    "id": "mcpr_1",
    "server_label": "maps",
    "name": "weather",
    "arguments": '{"city": "Hangzhou"}',
}
APPROVED = CALL | {"id": "mcp_3", "approval_request_id": "mcpr_1"}
RESPONSE = {
    "type": "mcp_approval_response",
    "id": "mcpa_1",
    "approval_request_id": "mcpr_1",
    "approve": False,
    "reason": "not now",
}


@pytest.mark.parametrize("item", [LISTING, CALL, FAILED, REQUEST, APPROVED, RESPONSE])
def test_items_sent_back_read_as_they_came(item: dict[str, Any]) -> None:
    (decoded,) = input_items([ItemWire.model_validate(item)])
    shown = item_body(decoded)
    expected = {k: v for k, v in item.items() if not (k == "error" and v is None)}
    assert {k: v for k, v in shown.items() if k in expected} == expected
    # and the SDK reads it as its own item type
    if item["type"] != "mcp_approval_response":
        parsed = construct_type(type_=ResponseOutputItem, value=shown)
        assert type(parsed).__name__ != "ResponseOutputMessage"


def test_the_items_parts() -> None:
    decoded = input_items([ItemWire.model_validate(i) for i in (LISTING, REQUEST, RESPONSE)])
    listing, request, response = (item.message for item in decoded)
    assert listing.role is Role.ASSISTANT
    call, result = listing.parts
    assert isinstance(call, BuiltinCallPart) and isinstance(result, BuiltinResultPart)
    assert McpCallStep.from_json(call.arguments) == McpCallStep(McpStep.LIST_TOOLS, "maps")
    (asked,) = request.parts
    assert isinstance(asked, BuiltinCallPart)
    step = McpCallStep.from_json(asked.arguments)
    assert step is not None and step.approval_request_id == "mcpr_1"
    assert asked.id != "mcpr_1"  # the call part is not the request it is answered by
    (answer,) = response.parts
    assert isinstance(answer, BuiltinResultPart) and answer.call_id == "mcpr_1"


def test_an_approval_request_sent_back_is_never_issued() -> None:
    """Only the tool loop marks a request issued; a client's field cannot."""
    for item in (REQUEST, REQUEST | {"issued": True}):
        (decoded,) = input_items([ItemWire.model_validate(item)])
        (asked,) = decoded.message.parts
        assert isinstance(asked, BuiltinCallPart)
        step = McpCallStep.from_json(asked.arguments)
        assert step is not None and step.approval_request_id == "mcpr_1"
        assert not step.issued


def test_an_issued_request_shows_no_mark() -> None:
    issued = McpCallStep(
        McpStep.APPROVAL_REQUEST, "maps", "weather", "{}", "msg_x0003", issued=True
    )
    body = mcp_item_body("msg_x0003", BuiltinCallPart("c", MCP, issued.to_json()), None)
    assert "issued" not in body and body["type"] == "mcp_approval_request"


@pytest.mark.parametrize(
    ("item", "fragment"),
    [
        (RESPONSE | {"approve": "yes"}, "approve (true or false)"),
        ({"type": "mcp_approval_response", "approve": True}, "approval_request_id"),
        (CALL | {"server_label": None}, "needs server_label"),
        (CALL | {"error": 5}, "error"),
        (LISTING | {"tools": "weather"}, "list of tools"),
    ],
)
def test_bad_items_are_refused(item: dict[str, Any], fragment: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        input_items([ItemWire.model_validate(item)])
    assert fragment in caught.value.message


# -- the stream -----------------------------------------------------------------------------

LISTED = McpCallStep(McpStep.LIST_TOOLS, "maps").to_json()
CALLED = McpCallStep(McpStep.CALL, "maps", "weather", '{"city": "Hangzhou"}').to_json()
ASKED = McpCallStep(
    McpStep.APPROVAL_REQUEST, "maps", "weather", '{"city": "Hangzhou"}', "msg_x0003"
).to_json()
TOOLS = (McpToolInfo("weather", {"type": "object"}, "The weather."),)


def part(
    index: int, kind: PartKind, call_id: str, text: str, status: str | None = None
) -> list[Event]:
    return [
        PartStart(0, index, kind, tool_call_id=call_id, tool_name=str(MCP), status=status),
        PartDelta(0, index, text),
        PartEnd(0, index),
    ]


def answered(output: str, status: str = "completed") -> list[Event]:
    return [
        *part(0, PartKind.BUILTIN_CALL, "l", LISTED),
        *part(1, PartKind.BUILTIN_RESULT, "l", listed_output(TOOLS), "completed"),
        *part(2, PartKind.BUILTIN_CALL, "c", CALLED),
        *part(3, PartKind.BUILTIN_RESULT, "c", output, status),
        PartStart(0, 4, PartKind.TEXT),
        PartDelta(0, 4, "Sunny."),
        PartEnd(0, 4),
        ChoiceEnd(0, FinishReason.STOP),
    ]


def turn() -> Turn:
    message = Message(Role.USER, (TextPart("weather?"),))
    request = GenerateRequest(model="m", messages=(message,))
    return Turn("resp_x", 1, request, (Item("msg_in", message),), TurnSettings())


def stream(events: list[Event]) -> list[dict[str, Any]]:
    encoder = ResponseStreamEncoder(turn_record(turn(), fold([])))
    out = encoder.start()
    out += [e for event in events for e in encoder.encode(event)]
    out += encoder.finish(turn_record(turn(), fold(events)))
    return out


def test_a_listing_and_a_call_stream_in_openais_order() -> None:
    sent = stream(answered(call_output("sunny", None)))
    assert [e["sequence_number"] for e in sent] == list(range(len(sent)))
    listing = [e for e in sent if e.get("output_index") == 0]
    call = [e for e in sent if e.get("output_index") == 1]
    assert [e["type"] for e in listing] == [
        "response.output_item.added",
        "response.mcp_list_tools.in_progress",
        "response.mcp_list_tools.completed",
        "response.output_item.done",
    ]
    assert listing[-1]["item"]["tools"] == [t.to_dict() for t in TOOLS]
    assert [e["type"] for e in call] == [
        "response.output_item.added",
        "response.mcp_call_arguments.delta",
        "response.mcp_call_arguments.done",
        "response.mcp_call.in_progress",
        "response.mcp_call.completed",
        "response.output_item.done",
    ]
    added, done = call[0]["item"], call[-1]["item"]
    assert added == {
        "id": added["id"],
        "type": "mcp_call",
        "server_label": "maps",
        "name": "weather",
        "arguments": "",
        "status": "in_progress",
        "output": None,
        "error": None,
    }
    assert call[1]["delta"] == call[2]["arguments"] == '{"city": "Hangzhou"}'
    assert done | {"id": "_"} == added | {
        "id": "_",
        "arguments": '{"city": "Hangzhou"}',
        "status": "completed",
        "output": "sunny",
    }
    final = sent[-1]["response"]
    assert [i["type"] for i in final["output"]] == ["mcp_list_tools", "mcp_call", "message"]
    assert final["output"][1] == done


def test_a_failed_call_streams_failed_with_the_error_object() -> None:
    output = call_output(None, "no such city", McpFailure.TOOL)
    sent = stream(answered(output, "failed"))
    call = [e for e in sent if e.get("output_index") == 1]
    assert call[-2]["type"] == "response.mcp_call.failed"
    assert call[-1]["item"]["error"] == {
        "type": "mcp_tool_execution_error",
        "content": [{"type": "text", "text": "no such city"}],
    }


def test_an_approval_request_is_added_and_done_at_once() -> None:
    events = [*part(0, PartKind.BUILTIN_CALL, "a", ASKED), ChoiceEnd(0, FinishReason.TOOL_CALLS)]
    sent = stream(events)
    kinds = [e["type"] for e in sent]
    assert kinds == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.output_item.done",
        "response.completed",
    ]
    assert sent[3]["item"] == {
        "id": sent[3]["item"]["id"],
        "type": "mcp_approval_request",
        "server_label": "maps",
        "name": "weather",
        "arguments": '{"city": "Hangzhou"}',
    }
    assert sent[-1]["response"]["status"] == "completed"


@pytest.mark.parametrize(
    ("type_", "model"),
    [
        ("response.mcp_list_tools.in_progress", ResponseMcpListToolsInProgressEvent),
        ("response.mcp_list_tools.completed", ResponseMcpListToolsCompletedEvent),
        ("response.mcp_call_arguments.delta", ResponseMcpCallArgumentsDeltaEvent),
        ("response.mcp_call_arguments.done", ResponseMcpCallArgumentsDoneEvent),
        ("response.mcp_call.in_progress", ResponseMcpCallInProgressEvent),
        ("response.mcp_call.completed", ResponseMcpCallCompletedEvent),
    ],
)
def test_each_event_has_the_sdks_fields_exactly(type_: str, model: Any) -> None:
    event = next(e for e in stream(answered(call_output("sunny", None))) if e["type"] == type_)
    assert set(event) == set(model.model_fields)
    assert model.model_validate(event).type == type_


def test_the_failed_event_too() -> None:
    sent = stream(answered(call_output(None, "x"), "failed"))
    event = next(e for e in sent if e["type"] == "response.mcp_call.failed")
    assert set(event) == set(ResponseMcpCallFailedEvent.model_fields)


def test_the_sdk_stream_accumulator_takes_the_stream() -> None:
    state: ResponseStreamState[Any] = ResponseStreamState(input_tools=omit, text_format=omit)
    for raw in stream(answered(call_output("sunny", None))):
        event = construct_type(type_=ResponseStreamEvent, value=raw)
        list(state.handle_event(event))  # type: ignore[arg-type]
    response = state._completed_response
    assert response is not None
    listing, call, _ = response.output
    assert listing.type == "mcp_list_tools" and call.type == "mcp_call"
    assert call.output == "sunny"  # type: ignore[union-attr]
    assert response.output_text == "Sunny."


def test_a_failed_listing_streams_failed_with_its_error() -> None:
    events = [
        *part(0, PartKind.BUILTIN_CALL, "l", LISTED),
        *part(1, PartKind.BUILTIN_RESULT, "l", listed_output((), "maps: refused"), "failed"),
        ChoiceEnd(0, FinishReason.STOP),
    ]
    sent = stream(events)
    kinds = [e["type"] for e in sent if e.get("output_index") == 0]
    assert kinds == [
        "response.output_item.added",
        "response.mcp_list_tools.in_progress",
        "response.mcp_list_tools.failed",
        "response.output_item.done",
    ]
    done = sent[-2]["item"]
    assert (done["tools"], done["error"]) == ([], "maps: refused")
