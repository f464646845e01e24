"""`file_search` through the whole app, driven by the official openai SDK: the scripted
model calls `file_search`, a fake KnowledgeSearch (the server's vector stores) answers,
and the call comes back as a `file_search_call` item (builtin-tools.md §3.6) with its
events in Model Studio's order, `usage.x_tools.file_search`, and `file_citation`
annotations on the answer's text where it cites a result, streamed, whole and retrieved
alike. Only the stores the request names are searched, in the caller's workspace.

The app's lifespan builds the runners with `build_tool_runners(settings)`; here it is
given the knowledge service the way the server passes it (`knowledge=`)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import openai
import pytest

from openscope.backends.scripted import ScriptedBackend
from openscope.backends.scripted.backend import text_events
from openscope.core.events import (
    ChoiceEnd,
    Event,
    FinishReason,
    PartDelta,
    PartEnd,
    PartKind,
    PartStart,
)
from openscope.core.knowledge import SearchHit
from openscope.core.messages import Role, ToolResultPart
from openscope.core.principal import DEFAULT_WORKSPACE
from openscope.core.request import GenerateRequest, ToolChoiceMode
from openscope.server import app as server_app
from openscope.server.tools import build_tool_runners
from openscope.settings import Settings
from tests.conftest import AppFactory
from tests.protocols.openai_responses.test_routes import sdk
from tests.tools.file_search.fake_knowledge import FakeKnowledge

ARGUMENTS = '{"queries": ["holidays", "X1 phone price"]}'
HANDBOOK = SearchHit("file-hb", "handbook.md", 0, "Holidays: 25 days a year.")
PRICES = SearchHit("file-pr", "prices.pdf", 0, "The X1 phone costs 2999 yuan.", {"team": "s"})
UNNAMED = SearchHit("file-un", "unnamed.txt", 0, "Holidays in the unnamed store.")
STORES = {
    DEFAULT_WORKSPACE: {"vs_hr": [HANDBOOK], "vs_sales": [PRICES], "vs_unnamed": [UNNAMED]},
    "other": {"vs_other": [UNNAMED]},
}
# The answer cites both results, its markers cut across the chunks it streams in.
ANSWER = ["Holidays: 25 days [fi", "le_1]. The X1 costs 2999 yuan [file_2]", "."]
TEXT = "".join(ANSWER)
RESULTS = [
    {"file_id": "file-hb", "filename": "handbook.md", "score": 1.0, "text": HANDBOOK.text},
    {
        "file_id": "file-pr",
        "filename": "prices.pdf",
        "score": 0.6667,  # two of "X1 phone price"'s three words
        "text": PRICES.text,
        "attributes": {"team": "s"},
    },
]
ANNOTATIONS = [
    {"type": "file_citation", "file_id": "file-hb", "filename": "handbook.md", "index": 18},
    {"type": "file_citation", "file_id": "file-pr", "filename": "prices.pdf", "index": 51},
]


def searches_then_answers(request: GenerateRequest, choice: int) -> list[Event]:
    if request.messages[-1].role is Role.TOOL:
        return text_events(ANSWER, choice=choice)
    return [
        PartStart(choice, 0, PartKind.TOOL_CALL, tool_call_id="call_1", tool_name="file_search"),
        PartDelta(choice, 0, ARGUMENTS[:10]),
        PartDelta(choice, 0, ARGUMENTS[10:]),
        PartEnd(choice, 0),
        ChoiceEnd(choice, FinishReason.TOOL_CALLS),
    ]


Setup = tuple[openai.OpenAI, ScriptedBackend, FakeKnowledge]


@pytest.fixture
def make(scripted_client: AppFactory, monkeypatch: pytest.MonkeyPatch) -> Any:
    def build(script: Any = searches_then_answers) -> Setup:
        fake = FakeKnowledge(STORES)

        def with_knowledge(settings: Settings, knowledge: Any = None) -> Any:
            return build_tool_runners(settings, knowledge=fake)

        monkeypatch.setattr(server_app, "build_tool_runners", with_knowledge)
        backend = ScriptedBackend(script)
        return sdk(scripted_client(backend)), backend, fake

    return build


def tool(*stores: str, **options: Any) -> dict[str, Any]:
    return {"type": "file_search", "vector_store_ids": list(stores), **options}


def create(client: openai.OpenAI, tools: Sequence[dict[str, Any]], **extra: Any) -> Any:
    return client.responses.with_raw_response.create(
        model="qwen-plus",
        input="How many holidays, and what does the X1 cost?",
        tools=list(tools),  # type: ignore[arg-type]
        **extra,
    )


def test_a_file_search_is_an_item_with_results_citations_and_x_tools(make: Any) -> None:
    client, backend, fake = make()
    sent = tool("vs_hr", "vs_sales", max_num_results=5, ranking_options={"score_threshold": 0.1})
    raw = create(client, [sent])
    body = raw.http_response.json()
    call, message = body["output"]
    assert call == {
        "id": call["id"],
        "type": "file_search_call",
        "status": "completed",
        "queries": ["holidays", "X1 phone price"],
        "results": RESULTS,
    }
    assert message["content"] == [
        {"type": "output_text", "text": TEXT, "annotations": ANNOTATIONS, "logprobs": []}
    ]
    assert TEXT[18:26] == "[file_1]" and TEXT[51:59] == "[file_2]"
    assert body["usage"]["x_tools"] == {"file_search": {"count": 1}}
    assert body["tools"] == [sent]
    # only the stores the request named, in the caller's workspace, with its options
    (searched,) = fake.searched
    assert (searched.workspace, searched.store_ids) == (DEFAULT_WORKSPACE, ("vs_hr", "vs_sales"))
    assert (searched.query.max_num_results, searched.query.score_threshold) == (5, 0.1)
    # the SDK reads both items as its own types
    parsed = raw.parse()
    assert parsed.output[0].type == "file_search_call"
    assert parsed.output[0].results[1].filename == "prices.pdf"
    citation = parsed.output[1].content[0].annotations[0]
    assert (citation.type, citation.file_id, citation.index) == ("file_citation", "file-hb", 18)
    # the model read the numbered results
    _, (answered, _) = backend.requests
    read = answered.messages[-1].parts[0]
    assert isinstance(read, ToolResultPart)
    assert "[file_1] handbook.md\nHolidays: 25 days a year." in read.text
    assert "[file_2] prices.pdf" in read.text
    retrieved = client.responses.with_raw_response.retrieve(body["id"]).http_response.json()
    assert retrieved["output"] == body["output"]
    assert retrieved["usage"] == body["usage"]
    assert retrieved["tools"] == [sent]


def events_of(raw: Any) -> list[dict[str, Any]]:
    raw.http_response.read()
    lines = raw.http_response.text.splitlines()
    events = [json.loads(line[len("data:") :]) for line in lines if line.startswith("data:")]
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    return events


def test_streamed_the_item_and_annotations_come_in_model_studios_order(make: Any) -> None:
    client, _, _ = make()
    events = events_of(create(client, [tool("vs_hr", "vs_sales")], stream=True))
    assert [e["type"] for e in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.file_search_call.in_progress",
        "response.file_search_call.searching",
        "response.file_search_call.completed",
        "response.output_item.done",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.annotation.added",
        "response.output_text.annotation.added",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    added, done = events[2]["item"], events[6]["item"]
    assert added == {
        "id": done["id"],
        "type": "file_search_call",
        "status": "in_progress",
        "queries": ["holidays", "X1 phone price"],
    }
    assert done == added | {"status": "completed", "results": RESULTS}
    for step in events[3:6]:
        assert set(step) == {"type", "sequence_number", "output_index", "item_id"}
        assert (step["output_index"], step["item_id"]) == (0, done["id"])
    message_id = events[7]["item"]["id"]
    first, second = events[11], events[12]
    assert first == {
        "type": "response.output_text.annotation.added",
        "sequence_number": 11,
        "item_id": message_id,
        "output_index": 1,
        "content_index": 0,
        "annotation_index": 0,
        "annotation": ANNOTATIONS[0],
    }
    assert (second["annotation_index"], second["annotation"]) == (1, ANNOTATIONS[1])
    assert events[15]["part"]["annotations"] == ANNOTATIONS
    assert events[16]["item"]["content"][0]["annotations"] == ANNOTATIONS
    completed = events[-1]["response"]
    assert completed["output"] == [done, events[16]["item"]]
    assert completed["usage"]["x_tools"] == {"file_search": {"count": 1}}
    retrieved = client.responses.with_raw_response.retrieve(completed["id"]).http_response.json()
    assert retrieved["output"] == completed["output"]


def test_a_store_not_named_is_never_searched_and_a_foreign_one_not_found(make: Any) -> None:
    client, backend, fake = make()
    with pytest.raises(openai.NotFoundError) as refused:
        create(client, [tool("vs_other")])
    body = refused.value.response.json()
    assert body["code"] == "not_found"
    assert body["message"] == "Vector store with id 'vs_other' not found."
    # refused before the model's first turn: nothing was searched, nothing generated
    assert not fake.searched and not backend.requests
    # a request naming one store never reaches the others
    create(client, [tool("vs_hr")])
    assert [s.store_ids for s in fake.searched] == [("vs_hr",)]


def test_a_citation_of_no_result_is_left_unannotated(make: Any) -> None:
    def cites_too_far(request: GenerateRequest, choice: int) -> list[Event]:
        if request.messages[-1].role is Role.TOOL:
            return text_events(["See [file_9] and [file_1]."], choice=choice)
        return searches_then_answers(request, choice)

    client, _, _ = make(cites_too_far)
    body = create(client, [tool("vs_hr")]).http_response.json()
    content = body["output"][1]["content"][0]
    assert content["annotations"] == [
        {"type": "file_citation", "file_id": "file-hb", "filename": "handbook.md", "index": 17}
    ]


def test_tool_choice_required_forces_the_search(make: Any) -> None:
    client, backend, _ = make()
    create(client, [tool("vs_hr")], tool_choice="required")
    first, second = (request.tool_choice for request, _ in backend.requests)
    assert first.mode is ToolChoiceMode.REQUIRED
    assert second.mode is ToolChoiceMode.AUTO


def test_a_replayed_file_search_call_reaches_the_model_again(make: Any) -> None:
    def answers(request: GenerateRequest, choice: int) -> list[Event]:
        return text_events(["Still 25 days [file_1]."], choice=choice)

    client, backend, fake = make(answers)
    item = {
        "type": "file_search_call",
        "id": "msg_fs",
        "status": "completed",
        "queries": ["holidays"],
        "results": RESULTS[:1],
    }
    answer = client.responses.create(
        model="qwen-plus",
        input=[  # type: ignore[list-item]
            {"role": "user", "content": "How many holidays?"},
            item,
            {"role": "assistant", "content": "25 days [file_1]."},
            {"role": "user", "content": "Sure?"},
        ],
        tools=[tool("vs_hr")],  # type: ignore[list-item]
    )
    assert answer.status == "completed"
    assert fake.searched == []  # the model answered from what it had read
    ((seen, _),) = backend.requests
    call, result = seen.messages[1], seen.messages[2]
    assert call.role is Role.ASSISTANT and result.role is Role.TOOL
    read = result.parts[0]
    assert isinstance(read, ToolResultPart)
    assert read.text.endswith("[file_1] handbook.md\nHolidays: 25 days a year.")


def test_without_a_knowledge_service_file_search_is_refused(
    scripted_client: AppFactory,
) -> None:
    switched_off = {"enabled": False}  # [knowledge] enabled = false: no vector stores
    client = sdk(scripted_client(ScriptedBackend(searches_then_answers), knowledge=switched_off))
    with pytest.raises(openai.BadRequestError) as caught:
        create(client, [tool("vs_hr")])
    assert "file_search" in str(caught.value)


def test_in_a_conversation_results_are_numbered_on_and_items_keep_citations(
    make: Any,
) -> None:
    def cites_the_handbook(request: GenerateRequest, choice: int) -> list[Event]:
        last = request.messages[-1]
        if last.role is Role.TOOL:
            read = last.parts[0]
            assert isinstance(read, ToolResultPart)
            marker = re.search(r"\[file_\d+\](?= handbook\.md)", read.text)
            assert marker is not None
            return text_events([f"25 days {marker.group()}."], choice=choice)
        return searches_then_answers(request, choice)

    client, _, _ = make(cites_the_handbook)
    conversation = client.conversations.create()
    first = create(client, [tool("vs_hr", "vs_sales")], conversation=conversation.id)
    second = create(client, [tool("vs_hr", "vs_sales")], conversation=conversation.id)
    texts = [r.http_response.json()["output"][1]["content"][0] for r in (first, second)]
    assert [t["text"] for t in texts] == ["25 days [file_1].", "25 days [file_3]."]
    cited = {"type": "file_citation", "file_id": "file-hb", "filename": "handbook.md", "index": 8}
    assert [t["annotations"] for t in texts] == [[cited], [cited]]
    listed = client.conversations.items.with_raw_response.list(conversation.id, order="desc")
    messages = [
        item["content"][0]
        for item in listed.http_response.json()["data"]
        if item["type"] == "message" and item["role"] == "assistant"
    ]
    assert messages == texts[::-1]
