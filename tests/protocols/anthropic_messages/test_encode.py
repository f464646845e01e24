from openscope.backends.scripted import text_events
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
from openscope.protocols.anthropic_messages.encode import (
    EventEncoder,
    message_body,
    signature_of,
)

THINK_THEN_CALL: list[Event] = [
    UsageReport(Usage(input_tokens=30, cached_tokens=10)),
    PartStart(0, 0, PartKind.REASONING),
    PartDelta(0, 0, "hmm"),
    PartEnd(0, 0),
    PartStart(0, 1, PartKind.TEXT),
    PartDelta(0, 1, "Checking."),
    PartEnd(0, 1),
    PartStart(0, 2, PartKind.TOOL_CALL, tool_call_id="toolu_1", tool_name="weather"),
    PartDelta(0, 2, '{"city":'),
    PartDelta(0, 2, ' "Paris"}'),
    PartEnd(0, 2),
    ChoiceEnd(0, FinishReason.TOOL_CALLS),
    UsageReport(Usage(input_tokens=30, output_tokens=9, cached_tokens=10)),
]


def test_message_body() -> None:
    body = message_body(fold(THINK_THEN_CALL), message_id="msg_1", model="qwen-plus")
    assert body == {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "qwen-plus",
        "content": [
            {"type": "thinking", "thinking": "hmm", "signature": signature_of("hmm")},
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Paris"}},
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 20,
            "output_tokens": 9,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 10,
        },
    }


def test_stop_reasons_and_null_stop_sequence() -> None:
    # text_events ends with ChoiceEnd(STOP); swap in one that records a hit stop sequence
    stopped = [*text_events(["a"])[:-1], ChoiceEnd(0, FinishReason.STOP, stop_sequence="END")]
    body = message_body(fold(stopped), message_id="m", model="x")
    assert (body["stop_reason"], body["stop_sequence"]) == ("end_turn", None)
    cut = message_body(
        fold(text_events(["a"], finish=FinishReason.LENGTH)), message_id="m", model="x"
    )
    assert cut["stop_reason"] == "max_tokens"


def test_stream_event_order_indices_and_usage() -> None:
    encoder = EventEncoder(message_id="msg_1", model="qwen-plus")
    events = [item for event in THINK_THEN_CALL for item in encoder.encode(event)]
    events += encoder.finish()
    names = [name for name, _ in events]
    assert names == [
        "message_start",
        "ping",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",  # signature_delta
        "content_block_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    data = [d for _, d in events]
    assert all(d["type"] == name for name, d in events)
    start = data[0]["message"]
    assert start["usage"] == {"input_tokens": 20, "output_tokens": 0}
    assert start["content"] == [] and start["stop_reason"] is None
    block_starts = [d for d in data if d["type"] == "content_block_start"]
    assert [b["index"] for b in block_starts] == [0, 1, 2]
    assert [b["content_block"]["type"] for b in block_starts] == ["thinking", "text", "tool_use"]
    assert block_starts[2]["content_block"] == {
        "type": "tool_use",
        "id": "toolu_1",
        "name": "weather",
        "input": {},
    }
    deltas = [d["delta"] for d in data if d["type"] == "content_block_delta"]
    assert [d["type"] for d in deltas] == [
        "thinking_delta",
        "signature_delta",
        "text_delta",
        "input_json_delta",
        "input_json_delta",
    ]
    assert deltas[1]["signature"] == signature_of("hmm")
    assert "".join(d.get("partial_json", "") for d in deltas) == '{"city": "Paris"}'
    final = data[-2]
    assert final["delta"] == {"stop_reason": "tool_use", "stop_sequence": None}
    assert final["usage"] == {
        "input_tokens": 20,
        "output_tokens": 9,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 10,
    }


def test_tool_use_keeps_arguments_it_cannot_read_as_an_object() -> None:
    # The conversion itself is core.arguments' (tests/core/test_arguments.py).
    events: list[Event] = [
        PartStart(0, 0, PartKind.TOOL_CALL, tool_call_id="toolu_1", tool_name="weather"),
        PartDelta(0, 0, '{"city": '),
        PartEnd(0, 0),
        ChoiceEnd(0, FinishReason.TOOL_CALLS),
    ]
    body = message_body(fold(events), message_id="msg_1", model="qwen-plus")
    assert body["content"][0]["input"] == {"arguments": '{"city": '}
