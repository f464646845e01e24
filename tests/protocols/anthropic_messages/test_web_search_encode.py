"""The server's web search runs on the Anthropic wire: a `server_tool_use` block and a
`web_search_tool_result` block (or its error), streamed and not, and the searches counted
in `usage.server_tool_use`; checked against the official SDK's own types and its stream
accumulator."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from anthropic.lib.streaming._messages import accumulate_event
from anthropic.types import Message, RawMessageStreamEvent
from pydantic import TypeAdapter

from openscope.core.events import (
    ChoiceEnd,
    Event,
    FinishReason,
    PartDelta,
    PartEnd,
    PartKind,
    PartStart,
    Usage,
    UsageReport,
)
from openscope.core.fold import fold
from openscope.protocols.anthropic_messages.encode import EventEncoder, message_body

READ = "[1] The Bell Rock Lighthouse\nSource: example.org (https://example.org/bell-rock)"
OUTPUT = json.dumps(
    {
        "action": {"type": "search", "query": "bell rock", "sources": []},
        "search_results": [],
        "results_read": [
            {
                "url": "https://example.org/bell-rock",
                "title": "The Bell Rock Lighthouse",
                "published": "2025-04-30",
                "content": READ,
            },
            {"url": "https://example.org/tea", "title": "Tea", "published": None, "content": ""},
        ],
    }
)
WEB_RESULTS = [
    {
        "type": "web_search_result",
        "url": "https://example.org/bell-rock",
        "title": "The Bell Rock Lighthouse",
        "encrypted_content": base64.b64encode(READ.encode()).decode(),
        "page_age": "April 30, 2025",
    },
    {
        "type": "web_search_result",
        "url": "https://example.org/tea",
        "title": "Tea",
        "encrypted_content": "",
        "page_age": None,
    },
]


def run(
    kind: str, call_id: str, arguments: str, output: str, status: str, first: int
) -> list[Event]:
    """A built-in run as the tool loop streams it: the call, then its result."""
    result = first + 1
    return [
        PartStart(0, first, PartKind.BUILTIN_CALL, call_id, kind),
        PartDelta(0, first, arguments[:5]),
        PartDelta(0, first, arguments[5:]),
        PartEnd(0, first),
        PartStart(0, result, PartKind.BUILTIN_RESULT, call_id, kind, status=status),
        PartDelta(0, result, output[:20]),
        PartDelta(0, result, output[20:]),
        PartEnd(0, result),
    ]


def answer(text: str, part: int) -> list[Event]:
    return [PartStart(0, part, PartKind.TEXT), PartDelta(0, part, text), PartEnd(0, part)]


SEARCHED: list[Event] = [
    UsageReport(Usage(input_tokens=40)),
    *run("web_search", "call_1", '{"query": "bell rock"}', OUTPUT, "completed", 0),
    *answer("Robert Stevenson built it.", 2),
    ChoiceEnd(0, FinishReason.STOP),
    UsageReport(Usage(input_tokens=300, output_tokens=20)),
]
CALL_BLOCK = {
    "type": "server_tool_use",
    "id": "srvtoolu_call_1",
    "name": "web_search",
    "input": {"query": "bell rock"},
}
RESULT_BLOCK = {
    "type": "web_search_tool_result",
    "tool_use_id": "srvtoolu_call_1",
    "content": WEB_RESULTS,
}


def test_a_search_is_a_server_tool_use_and_a_web_search_tool_result_block() -> None:
    body = message_body(fold(SEARCHED), message_id="msg_1", model="qwen-plus")
    assert body["content"] == [
        CALL_BLOCK,
        RESULT_BLOCK,
        {"type": "text", "text": "Robert Stevenson built it."},
    ]
    assert body["stop_reason"] == "end_turn"
    assert body["usage"] == {
        "input_tokens": 300,
        "output_tokens": 20,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "server_tool_use": {"web_search_requests": 1, "web_fetch_requests": 0},
    }
    # the SDK's own types take it whole, with every field where they expect it
    message = Message.model_validate(body)
    call, result, _ = message.content
    assert call.type == "server_tool_use" and call.input == {"query": "bell rock"}
    assert result.type == "web_search_tool_result" and isinstance(result.content, list)
    assert result.content[0].page_age == "April 30, 2025"
    assert base64.b64decode(result.content[0].encrypted_content).decode() == READ
    assert message.usage.server_tool_use is not None
    assert message.usage.server_tool_use.web_search_requests == 1


def test_an_answer_without_a_search_has_no_server_tool_usage() -> None:
    events = [*answer("hi", 0), ChoiceEnd(0, FinishReason.STOP)]
    assert "server_tool_use" not in message_body(fold(events), message_id="m", model="x")["usage"]


LOOP_FAILURE = json.dumps({"error": "web_search did not finish within 90 seconds."})


def failed(output: str) -> dict[str, Any]:
    output_of = {"error_code": output} if output else {}
    return {"action": {"type": "search", "sources": []}, "results_read": []} | output_of


@pytest.mark.parametrize(
    ("output", "code"),
    [
        (json.dumps(failed("max_uses_exceeded")), "max_uses_exceeded"),
        (json.dumps({"error": "Not run", "error_code": "max_uses_exceeded"}), "max_uses_exceeded"),
        (json.dumps(failed("invalid_input")), "invalid_tool_input"),
        (json.dumps(failed("too_many_requests")), "too_many_requests"),
        (json.dumps(failed("unavailable")), "unavailable"),
        (LOOP_FAILURE, "unavailable"),  # the loop's own failure names no reason
        ("not json", "unavailable"),
    ],
)
def test_a_failed_search_is_the_error_block_with_its_code(output: str, code: str) -> None:
    events = [
        *run("web_search", "call_1", '{"query": "x"}', output, "failed", 0),
        *answer("I could not search.", 2),
        ChoiceEnd(0, FinishReason.STOP),
    ]
    body = message_body(fold(events), message_id="msg_1", model="qwen-plus")
    assert body["content"][1] == {
        "type": "web_search_tool_result",
        "tool_use_id": "srvtoolu_call_1",
        "content": {"type": "web_search_tool_result_error", "error_code": code},
    }
    # a search that did not run is not counted
    assert body["usage"]["server_tool_use"] == {"web_search_requests": 0, "web_fetch_requests": 0}
    assert Message.model_validate(body).content[1].content.error_code == code  # type: ignore[union-attr]


CODE_RUN = run("code_interpreter", "call_9", '{"code": "1"}', '{"outputs": []}', "completed", 0)


def test_other_builtin_tools_stay_hidden() -> None:
    events = [*CODE_RUN, *answer("1", 2), ChoiceEnd(0, FinishReason.STOP)]
    body = message_body(fold(events), message_id="m", model="x")
    assert body["content"] == [{"type": "text", "text": "1"}]
    assert "server_tool_use" not in body["usage"]
    encoder = EventEncoder(message_id="m", model="x")
    streamed = [d for e in events for _, d in encoder.encode(e)] + [d for _, d in encoder.finish()]
    starts = [d for d in streamed if d["type"] == "content_block_start"]
    assert [s["content_block"]["type"] for s in starts] == ["text"]
    assert starts[0]["index"] == 0


def stream(events: list[Event]) -> list[tuple[str, dict[str, Any]]]:
    encoder = EventEncoder(message_id="msg_1", model="qwen-plus")
    return [item for event in events for item in encoder.encode(event)] + encoder.finish()


def test_the_stream_shows_the_call_as_it_comes_and_the_result_whole() -> None:
    events = stream(SEARCHED)
    names = [name for name, _ in events]
    assert names == [
        "message_start",
        "ping",
        "content_block_start",  # server_tool_use, input {}
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "content_block_start",  # web_search_tool_result, whole
        "content_block_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    data = [d for _, d in events]
    assert data[2] == {
        "type": "content_block_start",
        "index": 0,
        "content_block": CALL_BLOCK | {"input": {}},
    }
    assert [d["delta"] for d in data[3:5]] == [
        {"type": "input_json_delta", "partial_json": '{"que'},
        {"type": "input_json_delta", "partial_json": 'ry": "bell rock"}'},
    ]
    assert data[5] == {"type": "content_block_stop", "index": 0}
    assert data[6] == {"type": "content_block_start", "index": 1, "content_block": RESULT_BLOCK}
    assert data[7] == {"type": "content_block_stop", "index": 1}
    assert data[8]["index"] == 2
    assert data[-2]["usage"]["server_tool_use"] == {
        "web_search_requests": 1,
        "web_fetch_requests": 0,
    }
    assert "server_tool_use" not in data[0]["message"]["usage"]


def test_the_sdk_accumulates_the_stream_into_the_unstreamed_body() -> None:
    adapter: TypeAdapter[RawMessageStreamEvent] = TypeAdapter(RawMessageStreamEvent)
    snapshot = None
    json_bufs: dict[int, bytes] = {}
    for name, data in stream(SEARCHED):
        if name == "ping":
            continue
        event = adapter.validate_python(data)
        snapshot = accumulate_event(event=event, current_snapshot=snapshot, json_bufs=json_bufs)
    assert snapshot is not None
    body = message_body(fold(SEARCHED), message_id="msg_1", model="qwen-plus")
    whole = Message.model_validate(body).to_dict()
    accumulated = snapshot.to_dict()
    assert accumulated["content"] == whole["content"] == body["content"]
    assert accumulated["usage"] == whole["usage"]
    assert accumulated["stop_reason"] == whole["stop_reason"]
