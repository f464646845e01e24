"""`image_search_call` items (builtin-tools.md §3.5) as the encoder writes them from the
image_search runner's output: `name` and `arguments` (Model Studio's `img_idx` and `bbox`)
from the moment the item is added, `output` a JSON string once done; a run the loop failed
keeps the shape with the reason as `output`; the item a client sends back decodes into the
call and result the loop reads."""

from __future__ import annotations

import json

from openscope.core.builtin_tools import BuiltinToolKind
from openscope.core.messages import BuiltinCallPart, BuiltinResultPart, Role
from openscope.protocols.openai_responses.builtin_items import (
    builtin_call_body,
    builtin_item_message,
)

IMAGE_SEARCH = BuiltinToolKind.IMAGE_SEARCH
CALL_ARGUMENTS = '{"img_idx":0,"bbox":[0,0,1000,1000]}'  # the spec's sample
ARGUMENTS = '{"img_idx": 0, "bbox": [0, 0, 1000, 1000]}'
LISTED = '[{"title": "A cat", "url": "https://example.com/cat.jpg", "index": 1}]'
OUTPUT = json.dumps({"name": "image_search", "arguments": ARGUMENTS, "output": LISTED})
CALL = BuiltinCallPart("c1", IMAGE_SEARCH, CALL_ARGUMENTS)


def test_the_added_item_has_name_and_arguments() -> None:
    assert builtin_call_body("msg_1", CALL, None) == {
        "id": "msg_1",
        "type": "image_search_call",
        "status": "in_progress",
        "name": "image_search",
        "arguments": ARGUMENTS,
    }


def test_the_done_item_adds_the_output_as_a_json_string() -> None:
    result = BuiltinResultPart("c1", IMAGE_SEARCH, OUTPUT)
    assert builtin_call_body("msg_1", CALL, result) == {
        "id": "msg_1",
        "type": "image_search_call",
        "status": "completed",
        "name": "image_search",
        "arguments": ARGUMENTS,
        "output": LISTED,
    }


def test_a_run_the_loop_failed_keeps_the_shape() -> None:
    reason = "image_search did not finish within 90 seconds."
    result = BuiltinResultPart("c1", IMAGE_SEARCH, json.dumps({"error": reason}), "failed")
    assert builtin_call_body("msg_1", CALL, result) == {
        "id": "msg_1",
        "type": "image_search_call",
        "status": "failed",
        "name": "image_search",
        "arguments": ARGUMENTS,
        "output": reason,
    }


def test_an_item_sent_back_is_its_call_and_result() -> None:
    fields = {
        "type": "image_search_call",
        "status": "completed",
        "name": "image_search",
        "arguments": CALL_ARGUMENTS,
        "output": LISTED,
    }
    message = builtin_item_message("image_search_call", fields, "msg_1", 0)
    assert message.role is Role.ASSISTANT
    call, result = message.parts
    assert call == BuiltinCallPart("msg_1", IMAGE_SEARCH, ARGUMENTS)
    assert isinstance(result, BuiltinResultPart)
    assert (result.tool, result.status) == (IMAGE_SEARCH, "completed")
    assert json.loads(result.output) == {
        "name": "image_search",
        "arguments": CALL_ARGUMENTS,
        "output": LISTED,
    }
