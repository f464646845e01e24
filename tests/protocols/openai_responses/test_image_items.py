"""`web_search_image_call` items (builtin-tools.md §3.5): `name` and `arguments` from the
moment the item is added, `output` (a JSON string) once done, no dedicated status events
(§3.1), `usage.x_tools.web_search_image.count`; streamed, stored and retrieved alike."""

from __future__ import annotations

import json

from openscope.core.builtin_tools import BuiltinToolKind
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
from openscope.core.messages import BuiltinCallPart, BuiltinResultPart, Message, Role, TextPart
from openscope.core.request import GenerateRequest
from openscope.core.state import Item, TurnSettings
from openscope.core.turns import Turn, turn_record
from openscope.protocols.openai_responses.builtin_items import builtin_call_body
from openscope.protocols.openai_responses.encode import response_body
from openscope.protocols.openai_responses.stream import ResponseStreamEncoder

IMAGE = BuiltinToolKind.WEB_SEARCH_IMAGE
# The spec's sample (§3.5), as the model writes its call and the runner its output.
CALL_ARGUMENTS = '{"queries":["猫咪图片","cute cat"]}'
ARGUMENTS = '{"queries": ["猫咪图片", "cute cat"]}'
LISTED = (
    '[{"title": "可爱的小猫咪", "url": "https://example.com/cat.jpg", "index": 1}, '
    '{"title": "Cute cat", "url": "https://example.org/kitten.png", "index": 2}]'
)
RUNNER_OUTPUT = json.dumps(
    {"name": "web_search_image", "arguments": ARGUMENTS, "output": LISTED}, ensure_ascii=False
)


def test_the_added_item_has_name_and_arguments_and_no_output() -> None:
    body = builtin_call_body("msg_1", BuiltinCallPart("c1", IMAGE, CALL_ARGUMENTS), None)
    assert body == {
        "id": "msg_1",
        "type": "web_search_image_call",
        "status": "in_progress",
        "name": "web_search_image",
        "arguments": ARGUMENTS,
    }


def test_the_done_item_is_the_specs_sample_with_output_a_json_string() -> None:
    call = BuiltinCallPart("c1", IMAGE, CALL_ARGUMENTS)
    body = builtin_call_body("msg_1", call, BuiltinResultPart("c1", IMAGE, RUNNER_OUTPUT))
    assert body == {
        "id": "msg_1",
        "type": "web_search_image_call",
        "status": "completed",
        "name": "web_search_image",
        "arguments": ARGUMENTS,
        "output": LISTED,
    }
    assert isinstance(body["output"], str)
    assert json.loads(body["output"])[0] == {
        "title": "可爱的小猫咪",
        "url": "https://example.com/cat.jpg",
        "index": 1,
    }


def test_a_failed_run_keeps_the_shape_with_the_reason_as_output() -> None:
    call = BuiltinCallPart("c1", IMAGE, CALL_ARGUMENTS)
    reason = "The image search failed: SearXNG is unreachable"
    runner_failed = json.dumps(
        {"name": "web_search_image", "arguments": ARGUMENTS, "output": reason}
    )
    loop_failed = json.dumps({"error": reason})  # a timeout, a runner that raised
    for output in (runner_failed, loop_failed):
        result = BuiltinResultPart("c1", IMAGE, output, "failed")
        assert builtin_call_body("msg_1", call, result) == {
            "id": "msg_1",
            "type": "web_search_image_call",
            "status": "failed",
            "name": "web_search_image",
            "arguments": ARGUMENTS,
            "output": reason,
        }


def test_arguments_that_are_no_json_object_are_shown_as_written() -> None:
    body = builtin_call_body("msg_1", BuiltinCallPart("c1", IMAGE, "cats please"), None)
    assert body["arguments"] == "cats please"
    empty = builtin_call_body("msg_1", BuiltinCallPart("c1", IMAGE, ""), None)
    assert empty["arguments"] == "{}"  # what the loop runs the tool with


def searched_images_then_answered(output: str, status: str = "completed") -> list[Event]:
    return [
        PartStart(0, 0, PartKind.BUILTIN_CALL, tool_call_id="c1", tool_name=IMAGE),
        PartDelta(0, 0, CALL_ARGUMENTS[:12]),
        PartDelta(0, 0, CALL_ARGUMENTS[12:]),
        PartEnd(0, 0),
        PartStart(0, 1, PartKind.BUILTIN_RESULT, tool_call_id="c1", tool_name=IMAGE, status=status),
        PartDelta(0, 1, output[:30]),
        PartDelta(0, 1, output[30:]),
        PartEnd(0, 1),
        PartStart(0, 2, PartKind.TEXT),
        PartDelta(0, 2, "Two cats."),
        PartEnd(0, 2),
        UsageReport(Usage(input_tokens=40, output_tokens=12)),
        ChoiceEnd(0, FinishReason.STOP),
    ]


def turn() -> Turn:
    message = Message(Role.USER, (TextPart("cat pictures?"),))
    request = GenerateRequest(model="m", messages=(message,))
    return Turn("resp_x", 1, request, (Item("msg_in", message),), TurnSettings())


def streamed(events: list[Event]) -> list[dict[str, object]]:
    encoder = ResponseStreamEncoder(turn_record(turn(), fold([])))
    stream = encoder.start()
    stream += [e for event in events for e in encoder.encode(event)]
    return stream + encoder.finish(turn_record(turn(), fold(events)))


def test_the_stream_has_no_dedicated_events_and_the_stored_response_matches() -> None:
    events = searched_images_then_answered(RUNNER_OUTPUT)
    stream = streamed(events)
    assert [e["type"] for e in stream] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",  # the image call: name + arguments
        "response.output_item.done",  # ... + output
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e["sequence_number"] for e in stream] == list(range(len(stream)))
    added, done = stream[2], stream[3]
    assert added["output_index"] == done["output_index"] == 0
    item_id = added["item"]["id"]  # type: ignore[index]
    assert added["item"] == {
        "id": item_id,
        "type": "web_search_image_call",
        "status": "in_progress",
        "name": "web_search_image",
        "arguments": ARGUMENTS,
    }
    assert done["item"] == {
        "id": item_id,
        "type": "web_search_image_call",
        "status": "completed",
        "name": "web_search_image",
        "arguments": ARGUMENTS,
        "output": LISTED,
    }
    completed = stream[-1]["response"]
    stored = response_body(turn_record(turn(), fold(events)))
    assert completed == stored  # what GET /responses/{id} gives back
    assert stored["output"][0] == done["item"]
    assert stored["output"][1]["type"] == "message"
    assert stored["usage"]["x_tools"] == {"web_search_image": {"count": 1}}


def test_a_failed_image_search_is_not_counted() -> None:
    failed = json.dumps({"name": "web_search_image", "arguments": ARGUMENTS, "output": "no"})
    stored = response_body(
        turn_record(turn(), fold(searched_images_then_answered(failed, "failed")))
    )
    assert stored["output"][0]["status"] == "failed"
    assert "x_tools" not in stored["usage"]
