"""Built-in tool items sent back in `input` decode into the call and result parts the
tool loop reads; an item still in progress is only its call; the encoder shows a decoded
item as it came (a round trip)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from openscope.core.builtin_tools import BuiltinToolKind
from openscope.core.messages import BuiltinCallPart, BuiltinResultPart
from openscope.protocols.openai_responses.builtin_items import builtin_call_body
from openscope.protocols.openai_responses.decode import input_items
from openscope.protocols.openai_responses.schemas import ItemWire

SEARCH = {
    "type": "web_search_call",
    "id": "msg_ws",
    "status": "completed",
    "action": {
        "type": "search",
        "query": "west lake",
        "sources": [{"type": "url", "url": "https://lake.example/"}],
    },
}
CODE = {
    "type": "code_interpreter_call",
    "id": "msg_ci",
    "status": "completed",
    "code": "print(1)",
    "outputs": [{"type": "logs", "logs": "1\n"}],
    "container_id": "cntr_abc",
}
EXTRACT = {
    "type": "web_extractor_call",
    "id": "msg_we",
    "status": "completed",
    "goal": "opening hours",
    "urls": ["https://lake.example/"],
    "output": "The useful information in https://lake.example/ ...",
}
IMAGES = {
    "type": "web_search_image_call",
    "id": "msg_wi",
    "status": "failed",
    "name": "web_search_image",
    "arguments": '{"queries": ["cat"]}',
    "output": "No images.",
}


def parts(item: dict[str, Any]) -> tuple[Any, ...]:
    (decoded,) = input_items([ItemWire.model_validate(item)])
    assert decoded.id == item["id"]
    return decoded.message.parts


@pytest.mark.parametrize("item", [SEARCH, CODE, EXTRACT, IMAGES], ids=lambda i: i["type"])
def test_an_item_sent_back_is_its_call_and_result_and_encodes_as_it_came(
    item: dict[str, Any],
) -> None:
    call, result = parts(item)
    assert isinstance(call, BuiltinCallPart) and isinstance(result, BuiltinResultPart)
    assert call.tool is result.tool is BuiltinToolKind(item["type"].removesuffix("_call"))
    assert result.call_id == call.id
    assert result.status == item["status"]
    assert builtin_call_body(item["id"], call, result) == item


def test_the_arguments_the_model_wrote_come_from_the_item() -> None:
    assert json.loads(parts(SEARCH)[0].arguments) == {"query": "west lake"}
    assert json.loads(parts(CODE)[0].arguments) == {"code": "print(1)"}
    assert json.loads(parts(EXTRACT)[0].arguments) == {
        "goal": "opening hours",
        "urls": ["https://lake.example/"],
    }
    assert json.loads(parts(IMAGES)[0].arguments) == {"queries": ["cat"]}


def test_model_studios_queries_list_stands_for_the_query() -> None:
    item = SEARCH | {"action": {"type": "search", "queries": ["a", "b"]}}
    assert json.loads(parts(item)[0].arguments) == {"query": "a"}


def test_an_item_in_progress_is_only_its_call() -> None:
    (call,) = parts(SEARCH | {"status": "searching"})
    assert isinstance(call, BuiltinCallPart)
