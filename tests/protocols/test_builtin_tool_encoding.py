"""How each API shows a built-in tool the server ran: Responses as a `<tool>_call` output
item (streamed and whole, the same); compatible-mode chat not at all, only the answer around
it; Anthropic Messages a web search as its own server tool's blocks (the shapes in detail:
tests/protocols/anthropic_messages/test_web_search_encode.py)."""

from __future__ import annotations

import json

from openscope.core.builtin_tools import WebSearch
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
from openscope.protocols.anthropic_messages.encode import EventEncoder, message_body
from openscope.protocols.openai_chat.encode import ChunkEncoder, completion_body
from openscope.protocols.openai_responses.encode import response_body
from openscope.protocols.openai_responses.stream import ResponseStreamEncoder
from tests.core.builtin_events import ARGUMENTS, OUTPUT, searched_then_answered


def turn() -> Turn:
    message = Message(Role.USER, (TextPart("weather?"),))
    request = GenerateRequest(model="m", messages=(message,))
    return Turn("resp_x", 1, request, (Item("msg_in", message),), TurnSettings())


def test_responses_streams_and_stores_one_web_search_call_item() -> None:
    encoder = ResponseStreamEncoder(turn_record(turn(), fold([])))
    stream = [e for event in searched_then_answered() for e in encoder.encode(event)]
    added = [e for e in stream if e["type"] == "response.output_item.added"]
    done = [e for e in stream if e["type"] == "response.output_item.done"]
    assert [e["item"]["type"] for e in added] == ["web_search_call", "message"]
    assert [e["output_index"] for e in added] == [0, 1]
    assert added[0]["item"]["status"] == "in_progress"
    streamed = done[0]["item"]
    assert streamed == {
        "id": added[0]["item"]["id"],
        "type": "web_search_call",
        "status": "completed",
        "arguments": ARGUMENTS,
        "output": OUTPUT,
    }
    # the stored record gives the same item, under the same id
    whole = response_body(turn_record(turn(), fold(searched_then_answered())))
    assert whole["output"][0] == streamed
    assert whole["output"][1]["type"] == "message"


def test_chat_shows_only_the_answer() -> None:
    encoder = ChunkEncoder(
        completion_id="c", created=1, model="m", include_usage=False, logprobs=False
    )
    chunks = [c for event in searched_then_answered() for c in encoder.encode(event)]
    deltas = [c["choices"][0]["delta"] for c in chunks]
    assert all("tool_calls" not in d for d in deltas)
    assert "".join(d.get("content") or "" for d in deltas) == "Sunny."
    body = completion_body(fold(searched_then_answered()), completion_id="c", created=1, model="m")
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "Sunny."}


def test_anthropic_shows_a_web_search_as_its_server_tool_blocks() -> None:
    encoder = EventEncoder(message_id="msg", model="m")
    stream = [e for event in searched_then_answered() for e in encoder.encode(event)]
    blocks = [d["content_block"]["type"] for name, d in stream if name == "content_block_start"]
    assert blocks == ["server_tool_use", "web_search_tool_result", "text"]
    body = message_body(fold(searched_then_answered()), message_id="msg", model="m")
    assert [b["type"] for b in body["content"]] == blocks
    assert body["content"][0]["input"] == json.loads(ARGUMENTS)
    assert body["content"][-1] == {"type": "text", "text": "Sunny."}


def test_a_failed_run_is_a_failed_item_streamed_and_stored() -> None:
    events = [
        PartStart(e.choice, e.part, e.kind, e.tool_call_id, e.tool_name, status="failed")
        if isinstance(e, PartStart) and e.kind is PartKind.BUILTIN_RESULT
        else e
        for e in searched_then_answered()
    ]
    encoder = ResponseStreamEncoder(turn_record(turn(), fold([])))
    stream = [e for event in events for e in encoder.encode(event)]
    done = [e for e in stream if e["type"] == "response.output_item.done"]
    assert done[0]["item"]["status"] == "failed"
    assert "response.web_search_call.completed" not in [e["type"] for e in stream]
    whole = response_body(turn_record(turn(), fold(events)))
    assert whole["output"][0]["status"] == "failed"


def test_responses_usage_counts_the_runs_in_x_tools_only_when_a_tool_ran() -> None:
    ran = response_body(turn_record(turn(), fold(searched_then_answered())))
    assert ran["usage"]["x_tools"] == {"web_search": {"count": 1}}
    answered = [
        PartStart(0, 0, PartKind.TEXT),
        PartDelta(0, 0, "Sunny."),
        PartEnd(0, 0),
        ChoiceEnd(0, FinishReason.STOP),
    ]
    plain = response_body(turn_record(turn(), fold(answered)))
    assert "x_tools" not in plain["usage"]


def test_responses_echo_the_built_in_tools_asked_for() -> None:
    message = Message(Role.USER, (TextPart("weather?"),))
    request = GenerateRequest(model="m", messages=(message,))
    settings = TurnSettings(builtin_tools=(WebSearch(options={"forced_search": True}),))
    asked = Turn("resp_x", 1, request, (Item("msg_in", message),), settings)
    body = response_body(turn_record(asked, fold(searched_then_answered())))
    assert body["tools"] == [{"type": "web_search"}]


def test_responses_stream_a_web_search_with_its_progress_events() -> None:
    encoder = ResponseStreamEncoder(turn_record(turn(), fold([])))
    stream = [e for event in searched_then_answered() for e in encoder.encode(event)]
    names = [e["type"] for e in stream]
    call = names.index("response.output_item.added")
    assert names[call : call + 5] == [
        "response.output_item.added",
        "response.web_search_call.in_progress",
        "response.web_search_call.searching",
        "response.web_search_call.completed",
        "response.output_item.done",
    ]
    numbers = [e["sequence_number"] for e in stream]
    assert numbers == list(range(len(stream)))  # in the order sent
    progress = stream[call + 1]
    item_id = stream[call]["item"]["id"]
    # Model Studio's progress events carry only these
    assert set(progress) == {"type", "sequence_number", "output_index", "item_id"}
    assert (progress["item_id"], progress["output_index"]) == (item_id, 0)


SEARCHED = json.dumps(
    {
        "action": {"type": "search", "query": "weather", "sources": []},
        "search_results": [
            {"index": 1, "title": "Forecast", "url": "https://example.org/f", "site_name": "x"}
        ],
    }
)


def searched_with_results() -> list[Event]:
    return [
        event if not isinstance(event, PartDelta) or event.part != 1 else PartDelta(0, 1, SEARCHED)
        for event in searched_then_answered()
    ]


def test_chat_gives_search_info_only_when_enable_source_asks() -> None:
    results = json.loads(SEARCHED)["search_results"]
    asked = ChunkEncoder(
        completion_id="c",
        created=1,
        model="m",
        include_usage=False,
        logprobs=False,
        search_sources=True,
    )
    chunks = [c for event in searched_with_results() for c in asked.encode(event)]
    carrying = [c for c in chunks if "search_info" in c]
    assert [c["search_info"] for c in carrying] == [{"search_results": results}]
    # the first chunk after the search, before the answer's text
    assert carrying[0]["choices"][0]["delta"] == {"content": "Sunny."}
    folded = fold(searched_with_results())
    body = completion_body(folded, completion_id="c", created=1, model="m", search_sources=True)
    assert body["search_info"] == {"search_results": results}
    plain = ChunkEncoder(
        completion_id="c", created=1, model="m", include_usage=False, logprobs=False
    )
    assert all(
        "search_info" not in c for event in searched_with_results() for c in plain.encode(event)
    )
    assert "search_info" not in completion_body(folded, completion_id="c", created=1, model="m")


def test_a_failed_run_is_not_counted_in_x_tools() -> None:
    events = [
        PartStart(e.choice, e.part, e.kind, e.tool_call_id, e.tool_name, status="failed")
        if isinstance(e, PartStart) and e.kind is PartKind.BUILTIN_RESULT
        else e
        for e in searched_then_answered()
    ]
    body = response_body(turn_record(turn(), fold(events)))
    assert "x_tools" not in body["usage"]
