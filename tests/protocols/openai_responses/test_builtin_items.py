"""Built-in tools' `<tool>_call` items carry each tool's own fields (builtin-tools.md
§3.2-3.4, compared with the spec's samples), streamed and stored alike; anything else keeps
the generic `arguments` / `output` shape, never an error."""

from __future__ import annotations

import json
from typing import Any

import pytest

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
from openscope.core.messages import BuiltinCallPart, BuiltinResultPart, Message, Role, TextPart
from openscope.core.request import GenerateRequest
from openscope.core.state import Item, TurnSettings
from openscope.core.turns import Turn, turn_record
from openscope.protocols.openai_responses.builtin_items import builtin_call_body
from openscope.protocols.openai_responses.encode import response_body
from openscope.protocols.openai_responses.stream import ResponseStreamEncoder

SEARCH = BuiltinToolKind.WEB_SEARCH
EXTRACTOR = BuiltinToolKind.WEB_EXTRACTOR
CODE = BuiltinToolKind.CODE_INTERPRETER
ITEM_ID = "msg_a8a686b1-0a57-40e1-bb55-049a89cd4xxx"
GOAL = "提取阿里云官网首页的关键信息"
EXTRACTED = (
    f"The useful information in https://cn.aliyun.com/ for user goal {GOAL} as follows: "
    "\n\nEvidence in page: \n## 通义大模型 企业拥抱 AI 时代首选\n\nSummary: \nAlibaba Cloud."
)


def call(tool: BuiltinToolKind, arguments: Any) -> BuiltinCallPart:
    text = arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)
    return BuiltinCallPart("call_1", tool, text)


def result(tool: BuiltinToolKind, output: Any, status: str = "completed") -> BuiltinResultPart:
    text = output if isinstance(output, str) else json.dumps(output, ensure_ascii=False)
    return BuiltinResultPart("call_1", tool, text, status)


# -- web_search_call (§3.2) -------------------------------------------------------------

SEARCH_OUTPUT = {
    "action": {
        "type": "search",
        "query": "Web search",
        "sources": [
            {"type": "url", "url": "https://cn.aliyun.com/"},
            {"type": "url", "url": "https://www.aliyun.com/"},
        ],
    },
    # the runner keeps Chat's search_info beside the item's fields: not an item field
    "search_results": [{"index": 1, "title": "t", "url": "https://cn.aliyun.com/"}],
}


def test_web_search_call_in_progress_is_the_specs_added_item() -> None:
    body = builtin_call_body(ITEM_ID, call(SEARCH, {"query": "Web search"}), None)
    assert body == {
        "action": {"type": "search", "query": "Web search"},
        "id": ITEM_ID,
        "type": "web_search_call",
        "status": "in_progress",
    }


def test_web_search_call_done_is_the_specs_done_item() -> None:
    body = builtin_call_body(
        ITEM_ID, call(SEARCH, {"query": "Web search"}), result(SEARCH, SEARCH_OUTPUT)
    )
    assert body == {
        "action": {
            "sources": [
                {"type": "url", "url": "https://cn.aliyun.com/"},
                {"type": "url", "url": "https://www.aliyun.com/"},
            ],
            "type": "search",
            "query": "Web search",
        },
        "id": ITEM_ID,
        "type": "web_search_call",
        "status": "completed",
    }


def test_a_failed_search_is_a_failed_item_with_its_action() -> None:
    output = {"action": {"type": "search", "query": "q", "sources": []}}
    body = builtin_call_body(
        ITEM_ID, call(SEARCH, {"query": "q"}), result(SEARCH, output, "failed")
    )
    assert body == {
        "id": ITEM_ID,
        "type": "web_search_call",
        "status": "failed",
        "action": {"type": "search", "query": "q", "sources": []},
    }


# -- web_extractor_call (§3.3) ----------------------------------------------------------


def test_web_extractor_call_added_and_done_are_the_specs_items() -> None:
    arguments = {"goal": GOAL, "urls": ["https://cn.aliyun.com/"]}
    added = builtin_call_body("msg_8c2c", call(EXTRACTOR, arguments), None)
    assert added == {
        "urls": ["https://cn.aliyun.com/"],
        "goal": GOAL,
        "id": "msg_8c2c",
        "type": "web_extractor_call",
        "status": "in_progress",
    }
    output = {"goal": GOAL, "urls": ["https://cn.aliyun.com/"], "output": EXTRACTED}
    done = builtin_call_body("msg_8c2c", call(EXTRACTOR, arguments), result(EXTRACTOR, output))
    assert done == {
        "output": EXTRACTED,
        "urls": ["https://cn.aliyun.com/"],
        "goal": GOAL,
        "id": "msg_8c2c",
        "type": "web_extractor_call",
        "status": "completed",
    }


# -- code_interpreter_call (§3.4, §3.8) --------------------------------------------------


def test_code_interpreter_call_is_the_specs_item() -> None:
    output = {
        "code": "12**3",
        "outputs": [{"type": "logs", "logs": "1728"}],
        "container_id": "cntr_1",
    }
    done = builtin_call_body("msg_c", call(CODE, {"code": "12**3"}), result(CODE, output))
    assert done == {
        "type": "code_interpreter_call",
        "id": "msg_c",
        "status": "completed",
        "code": "12**3",
        "outputs": [{"type": "logs", "logs": "1728"}],
        "container_id": "cntr_1",
    }
    added = builtin_call_body("msg_c", call(CODE, {"code": "12**3"}), None)
    assert added == {
        "id": "msg_c",
        "type": "code_interpreter_call",
        "status": "in_progress",
        "code": "12**3",
    }


def test_an_image_output_is_kept() -> None:
    outputs = [
        {"type": "logs", "logs": ""},
        {"type": "image", "url": "data:image/png;base64,iVBORw0KGgo="},
    ]
    output = {"code": "plot()", "outputs": outputs, "container_id": "cntr_1"}
    body = builtin_call_body("msg_c", call(CODE, {"code": "plot()"}), result(CODE, output))
    assert body["outputs"] == outputs


# -- what is not a runner's output --------------------------------------------------------


@pytest.mark.parametrize(
    "output",
    ["not json", "[1, 2]", '"text"', "null", '{"sources": ["https://example.com"]}', ""],
)
@pytest.mark.parametrize("tool", [SEARCH, EXTRACTOR, CODE])
def test_output_that_is_not_the_tools_fields_keeps_the_generic_shape(
    tool: BuiltinToolKind, output: str
) -> None:
    body = builtin_call_body("msg_x", call(tool, '{"query": "q"}'), result(tool, output))
    assert body == {
        "id": "msg_x",
        "type": f"{tool}_call",
        "status": "completed",
        "arguments": '{"query": "q"}',
        "output": output,
    }


@pytest.mark.parametrize(
    ("tool", "arguments", "fields"),
    [
        (SEARCH, "not json", {"action": {"type": "search"}}),
        (SEARCH, {"query": 5}, {"action": {"type": "search"}}),
        (EXTRACTOR, {"goal": 1, "urls": ["a", 2]}, {}),
        (EXTRACTOR, {"goal": "g", "urls": "a"}, {"goal": "g"}),
        (CODE, {"code": ["x"]}, {}),
        (CODE, "[]", {}),
        # cut short by the length limit: the code as far as it was written (and streamed)
        (CODE, '{"code": "print(\\"hi', {"code": 'print("hi'}),
    ],
)
def test_an_in_progress_item_shows_only_well_typed_arguments(
    tool: BuiltinToolKind, arguments: Any, fields: dict[str, Any]
) -> None:
    body = builtin_call_body("msg_x", call(tool, arguments), None)
    assert body == {"id": "msg_x", "type": f"{tool}_call", "status": "in_progress"} | fields


# (image_search and file_search have runners now: their items are in
# test_image_search_items.py and test_file_search_items.py)
@pytest.mark.parametrize("tool", [BuiltinToolKind.MCP])
def test_tools_without_a_runner_keep_the_generic_shape(tool: BuiltinToolKind) -> None:
    output = json.dumps({"action": {"type": "search"}, "code": "x"})
    arguments = '{"queries": ["cat"]}'
    assert builtin_call_body("msg_x", call(tool, arguments), None) == {
        "id": "msg_x",
        "type": f"{tool}_call",
        "status": "in_progress",
        "arguments": arguments,
    }
    assert builtin_call_body("msg_x", call(tool, arguments), result(tool, output)) == {
        "id": "msg_x",
        "type": f"{tool}_call",
        "status": "completed",
        "arguments": arguments,
        "output": output,
    }


# -- streamed and stored ----------------------------------------------------------------


def searched_then_answered(arguments: str, output: str) -> list[Event]:
    return [
        PartStart(0, 0, PartKind.BUILTIN_CALL, tool_call_id="ws_1", tool_name=SEARCH),
        PartDelta(0, 0, arguments),
        PartEnd(0, 0),
        PartStart(0, 1, PartKind.BUILTIN_RESULT, tool_call_id="ws_1", tool_name=SEARCH),
        PartDelta(0, 1, output[:20]),
        PartDelta(0, 1, output[20:]),
        PartEnd(0, 1),
        PartStart(0, 2, PartKind.TEXT),
        PartDelta(0, 2, "Sunny."),
        PartEnd(0, 2),
        ChoiceEnd(0, FinishReason.STOP),
    ]


def turn() -> Turn:
    message = Message(Role.USER, (TextPart("weather?"),))
    request = GenerateRequest(model="m", messages=(message,))
    return Turn("resp_x", 1, request, (Item("msg_in", message),), TurnSettings())


def test_streamed_and_stored_web_search_call_items_are_the_same() -> None:
    events = searched_then_answered('{"query": "Web search"}', json.dumps(SEARCH_OUTPUT))
    encoder = ResponseStreamEncoder(turn_record(turn(), fold([])))
    stream = [e for event in events for e in encoder.encode(event)]
    added = next(e for e in stream if e["type"] == "response.output_item.added")
    done = next(e for e in stream if e["type"] == "response.output_item.done")
    item_id = added["item"]["id"]
    assert added["item"] == {
        "id": item_id,
        "type": "web_search_call",
        "status": "in_progress",
        "action": {"type": "search", "query": "Web search"},
    }
    assert done["item"] == {
        "id": item_id,
        "type": "web_search_call",
        "status": "completed",
        "action": SEARCH_OUTPUT["action"],
    }
    stored = response_body(turn_record(turn(), fold(events)))
    assert stored["output"][0] == done["item"]


@pytest.mark.parametrize(
    ("tool", "arguments", "expected"),
    [
        (
            BuiltinToolKind.CODE_INTERPRETER,
            '{"code": "while True: pass"}',
            {"code": "while True: pass", "outputs": [{"type": "logs", "logs": "timed out"}]},
        ),
        (
            BuiltinToolKind.WEB_SEARCH,
            '{"query": "q"}',
            {"action": {"type": "search", "query": "q", "sources": []}},
        ),
        (
            BuiltinToolKind.WEB_EXTRACTOR,
            '{"goal": "g", "urls": ["https://a.example"]}',
            {"goal": "g", "urls": ["https://a.example"], "output": "timed out"},
        ),
    ],
)
def test_a_run_the_loop_failed_keeps_its_tool_s_shape(
    tool: BuiltinToolKind, arguments: str, expected: dict[str, object]
) -> None:
    # The loop's own failure (a timeout, a runner that raised) writes only an error: a
    # client reading `outputs[0].logs` or `action.sources` still finds them.
    call = BuiltinCallPart("c1", tool, arguments)
    failed = BuiltinResultPart("c1", tool, json.dumps({"error": "timed out"}), "failed")
    body = builtin_call_body("msg_1", call, failed)
    assert body == {"id": "msg_1", "type": f"{tool}_call", "status": "failed", **expected}
