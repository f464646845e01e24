"""The Responses and Conversations routes driven by the official openai SDK over the
in-process app and the scripted backend (which echoes the last user message, calls a tool
when tools are offered, reports tool results and thinks aloud when thinking is on)."""

from __future__ import annotations

from typing import Any

import openai
import pytest
from fastapi.testclient import TestClient

from openscope.backends.base import BackendFeatures
from openscope.backends.scripted import ScriptedBackend
from openscope.core import errors
from openscope.core.messages import (
    Message,
    ReasoningPart,
    Role,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from tests.conftest import API_KEY, AppFactory

PREFIX = "/compatible-mode/v1"
MODEL = "qwen-plus"
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather in a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
        "required": ["city"],
    },
}
TEXT_STREAM_TYPES = [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.content_part.added",
    "response.output_text.delta",
    "response.output_text.delta",
    "response.output_text.delta",
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.completed",
]


def sdk(client: TestClient, prefix: str = PREFIX) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=f"http://testserver{prefix}", api_key=API_KEY, http_client=client, max_retries=0
    )


def setup(scripted_client: AppFactory) -> tuple[openai.OpenAI, ScriptedBackend, TestClient]:
    backend = ScriptedBackend()
    app = scripted_client(backend)
    return sdk(app), backend, app


def roles_and_texts(messages: tuple[Message, ...]) -> list[tuple[Role, str]]:
    return [(m.role, m.text) for m in messages]


def last_messages(backend: ScriptedBackend) -> tuple[Message, ...]:
    return backend.requests[-1][0].messages


# -- create, retrieve, delete -------------------------------------------------------------


def test_create(scripted_client: AppFactory) -> None:
    client, _, _ = setup(scripted_client)
    response = client.responses.create(model=MODEL, input="hello there", instructions="be brief")
    assert response.id.startswith("resp_")
    assert response.object == "response"
    assert response.status == "completed"
    assert response.model == MODEL
    assert response.created_at > 0
    assert response.error is None and response.incomplete_details is None
    assert response.instructions == "be brief"
    assert response.previous_response_id is None
    assert response.parallel_tool_calls is True
    assert response.tool_choice == "auto" and response.tools == []
    (message,) = response.output
    assert message.type == "message" and message.role == "assistant"
    assert message.status == "completed"
    assert message.id.startswith("msg_")
    (part,) = message.content
    assert part.type == "output_text" and part.text == "hello there"
    assert response.output_text == "hello there"
    usage = response.usage
    assert usage is not None
    # the scripted backend counts words plus one per message: system 2+1, user 2+1
    assert usage.input_tokens == 6
    assert usage.output_tokens == 2  # one token per delta
    assert usage.total_tokens == 8
    assert usage.input_tokens_details.cached_tokens == 0
    assert usage.output_tokens_details.reasoning_tokens == 0


def test_the_v1_prefix_serves_the_same_api(scripted_client: AppFactory) -> None:
    app = scripted_client()
    v1 = sdk(app, prefix="/v1")
    response = v1.responses.create(model=MODEL, input="hello there")
    assert response.output_text == "hello there"
    assert sdk(app).responses.retrieve(response.id).id == response.id


def test_settings_are_echoed(scripted_client: AppFactory) -> None:
    client, _, _ = setup(scripted_client)
    response = client.responses.create(
        model=MODEL,
        input="hi",
        temperature=0.5,
        top_p=0.9,
        max_output_tokens=64,
        metadata={"k": "v"},
        parallel_tool_calls=False,
        tools=[WEATHER],  # type: ignore[list-item]
        tool_choice="none",
    )
    assert response.temperature == 0.5 and response.top_p == 0.9
    assert response.max_output_tokens == 64
    assert response.metadata == {"k": "v"}
    assert response.parallel_tool_calls is False
    assert response.tool_choice == "none"
    (tool,) = response.tools
    assert tool.type == "function" and tool.name == "get_weather"
    assert tool.parameters == WEATHER["parameters"]
    assert response.output_text == "hi"  # tool_choice none: no call


def test_retrieve_returns_the_created_response(scripted_client: AppFactory) -> None:
    client, _, _ = setup(scripted_client)
    created = client.responses.create(model=MODEL, input="hello there", instructions="brief")
    retrieved = client.responses.retrieve(created.id)
    assert retrieved.model_dump() == created.model_dump()


def test_delete_then_not_found(scripted_client: AppFactory) -> None:
    client, _, _ = setup(scripted_client)
    response = client.responses.create(model=MODEL, input="hello there")
    assert client.responses.delete(response.id) is None
    with pytest.raises(openai.NotFoundError) as caught:
        client.responses.retrieve(response.id)
    assert caught.value.body["code"] == "not_found"  # type: ignore[index]
    assert response.id in caught.value.body["message"]  # type: ignore[index]
    with pytest.raises(openai.NotFoundError):
        client.responses.delete(response.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.input_items.list(response.id)
    with pytest.raises(openai.BadRequestError) as chained:
        client.responses.create(model=MODEL, input="more", previous_response_id=response.id)
    assert chained.value.body["message"] == (  # type: ignore[index]
        f"Not found previous_response_id: {response.id}"
    )


def test_store_false_is_not_retrievable(scripted_client: AppFactory) -> None:
    client, _, _ = setup(scripted_client)
    response = client.responses.create(model=MODEL, input="hello there", store=False)
    assert response.status == "completed" and response.output_text == "hello there"
    assert response.store is False
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(response.id)
    with pytest.raises(openai.BadRequestError):
        client.responses.create(model=MODEL, input="more", previous_response_id=response.id)


def test_unknown_previous_response_id(scripted_client: AppFactory) -> None:
    client, backend, _ = setup(scripted_client)
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model=MODEL, input="hi", previous_response_id="resp_nope")
    body = caught.value.body
    assert body["code"] == "invalid_parameter_error"  # type: ignore[index]
    assert body["message"] == "Not found previous_response_id: resp_nope"  # type: ignore[index]
    assert not backend.requests  # refused before generating


def test_mutual_exclusion_and_floor_through_the_sdk(scripted_client: AppFactory) -> None:
    client, _, _ = setup(scripted_client)
    with pytest.raises(openai.BadRequestError) as exclusive:
        client.responses.create(
            model=MODEL, input="hi", previous_response_id="resp_1", conversation="conv_1"
        )
    assert exclusive.value.body["message"] == (  # type: ignore[index]
        "Mutually exclusive parameters: Ensure you are only providing one of: "
        "previous_response_id or conversation."
    )
    with pytest.raises(openai.BadRequestError) as floor:
        client.responses.create(model=MODEL, input="hi", max_output_tokens=1)
    assert floor.value.body["message"] == (  # type: ignore[index]
        "Invalid 'max_output_tokens': must be greater than or equal to 16, got 1."
    )


# -- chaining ---------------------------------------------------------------------------


def test_chain_three_turns_without_carrying_instructions(scripted_client: AppFactory) -> None:
    client, backend, _ = setup(scripted_client)
    first = client.responses.create(model=MODEL, input="one", instructions="first rules")
    second = client.responses.create(
        model=MODEL, input="two", previous_response_id=first.id, instructions="second rules"
    )
    assert roles_and_texts(last_messages(backend)) == [
        (Role.SYSTEM, "second rules"),
        (Role.USER, "one"),
        (Role.ASSISTANT, "one"),
        (Role.USER, "two"),
    ]
    third = client.responses.create(model=MODEL, input="three", previous_response_id=second.id)
    assert roles_and_texts(last_messages(backend)) == [
        (Role.USER, "one"),
        (Role.ASSISTANT, "one"),
        (Role.USER, "two"),
        (Role.ASSISTANT, "two"),
        (Role.USER, "three"),
    ]
    assert third.output_text == "three"
    assert third.previous_response_id == second.id
    assert second.previous_response_id == first.id
    assert third.instructions is None
    # each response's input items are its own turn's only
    (item,) = client.responses.input_items.list(third.id).data
    assert item.type == "message" and item.content[0].text == "three"  # type: ignore[union-attr]
    # an earlier link of the chain can still be branched from
    client.responses.create(model=MODEL, input="branch", previous_response_id=first.id)
    assert roles_and_texts(last_messages(backend)) == [
        (Role.USER, "one"),
        (Role.ASSISTANT, "one"),
        (Role.USER, "branch"),
    ]


def test_chain_with_an_input_item_list(scripted_client: AppFactory) -> None:
    client, backend, _ = setup(scripted_client)
    first = client.responses.create(model=MODEL, input="one")
    client.responses.create(
        model=MODEL,
        previous_response_id=first.id,
        input=[
            {"role": "developer", "content": "be kind"},
            {"role": "user", "content": [{"type": "input_text", "text": "two"}]},
        ],
    )
    assert roles_and_texts(last_messages(backend)) == [
        (Role.USER, "one"),
        (Role.ASSISTANT, "one"),
        (Role.SYSTEM, "be kind"),
        (Role.USER, "two"),
    ]


def test_function_call_round_trip(scripted_client: AppFactory) -> None:
    client, backend, _ = setup(scripted_client)
    first = client.responses.create(
        model=MODEL,
        input="Paris",
        tools=[WEATHER],  # type: ignore[list-item]
    )
    (call,) = first.output
    assert call.type == "function_call"
    assert call.id.startswith("fc_")
    assert call.call_id and call.name == "get_weather"
    assert call.arguments == '{"city": "Paris", "days": 1}'
    assert call.status == "completed"
    assert first.output_text == ""
    second = client.responses.create(
        model=MODEL,
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}],
        tools=[WEATHER],  # type: ignore[list-item]
    )
    messages = last_messages(backend)
    assert [m.role for m in messages] == [Role.USER, Role.ASSISTANT, Role.TOOL]
    assert messages[1].parts == (
        ToolCallPart(id=call.call_id, name="get_weather", arguments=call.arguments),
    )
    (result,) = messages[2].parts
    assert isinstance(result, ToolResultPart)
    assert result.tool_call_id == call.call_id and result.text == "sunny"
    assert second.output_text == "The tool returned: sunny"
    (output_item,) = client.responses.input_items.list(second.id).data
    assert output_item.type == "function_call_output"
    assert output_item.call_id == call.call_id and output_item.output == "sunny"
    # one more turn: the call and its output stay in the rebuilt history
    client.responses.create(model=MODEL, input="thanks", previous_response_id=second.id)
    assert [m.role for m in last_messages(backend)] == [
        Role.USER,
        Role.ASSISTANT,
        Role.TOOL,
        Role.ASSISTANT,
        Role.USER,
    ]


def test_stateless_function_call_round_trip(scripted_client: AppFactory) -> None:
    """Without stored state: the client sends the call back itself, as the SDK docs show."""
    client, backend, _ = setup(scripted_client)
    first = client.responses.create(
        model=MODEL,
        input="Paris",
        tools=[WEATHER],  # type: ignore[list-item]
        store=False,
    )
    call = first.output[0]
    assert call.type == "function_call"
    second = client.responses.create(
        model=MODEL,
        input=[
            {"role": "user", "content": "Paris"},
            call.model_dump(exclude_none=True),  # type: ignore[list-item]
            {"type": "function_call_output", "call_id": call.call_id, "output": "rain"},
        ],
        tools=[WEATHER],  # type: ignore[list-item]
    )
    assert second.output_text == "The tool returned: rain"
    assert [m.role for m in last_messages(backend)] == [Role.USER, Role.ASSISTANT, Role.TOOL]
    items = client.responses.input_items.list(second.id, order="asc").data
    assert [i.type for i in items] == ["message", "function_call", "function_call_output"]
    assert items[1].id == call.id


def test_thinking_gives_a_reasoning_item_and_chains_it(scripted_client: AppFactory) -> None:
    client, backend, _ = setup(scripted_client)
    first = client.responses.create(
        model=MODEL, input="hello there", extra_body={"enable_thinking": True}
    )
    reasoning, message = first.output
    assert reasoning.type == "reasoning" and reasoning.id.startswith("rs_")
    assert reasoning.summary[0].text == "The user wrote: hello there"
    assert message.type == "message"
    assert first.output_text == "hello there"
    assert first.usage is not None
    assert first.usage.output_tokens_details.reasoning_tokens == 1
    client.responses.create(model=MODEL, input="again", previous_response_id=first.id)
    history = last_messages(backend)
    # the reasoning item and the message item come back as one assistant turn
    assert history[1] == Message(
        Role.ASSISTANT, (ReasoningPart("The user wrote: hello there"), TextPart("hello there"))
    )
    assert roles_and_texts(history)[2:] == [(Role.USER, "again")]


@pytest.mark.parametrize(
    ("effort", "enable_thinking", "thinks"),
    [("high", None, True), ("high", False, True), ("none", True, False), ("minimal", None, False)],
)
def test_reasoning_effort_wins(
    scripted_client: AppFactory, effort: str, enable_thinking: bool | None, thinks: bool
) -> None:
    client, _, _ = setup(scripted_client)
    extra = {} if enable_thinking is None else {"enable_thinking": enable_thinking}
    response = client.responses.create(
        model=MODEL,
        input="hi",
        reasoning={"effort": effort},  # type: ignore[typeddict-item]
        extra_body=extra,
    )
    assert [o.type for o in response.output] == (["reasoning"] if thinks else []) + ["message"]


def test_max_output_tokens_cuts_the_answer(scripted_client: AppFactory) -> None:
    client, _, _ = setup(scripted_client)
    words = " ".join(f"w{i}" for i in range(20))
    response = client.responses.create(model=MODEL, input=words, max_output_tokens=16)
    assert response.status == "incomplete"
    assert response.incomplete_details is not None
    assert response.incomplete_details.reason == "max_output_tokens"
    assert response.output_text == " ".join(f"w{i}" for i in range(16))
    retrieved = client.responses.retrieve(response.id)
    assert retrieved.status == "incomplete"
    assert retrieved.incomplete_details.reason == "max_output_tokens"  # type: ignore[union-attr]


# -- input items ------------------------------------------------------------------------


def test_input_items_pagination(scripted_client: AppFactory) -> None:
    client, _, app = setup(scripted_client)
    texts = [f"m{i}" for i in range(5)]
    response = client.responses.create(
        model=MODEL, input=[{"role": "user", "content": t} for t in texts]
    )
    items = client.responses.input_items
    every = items.list(response.id, order="asc").data
    assert [i.content[0].text for i in every] == texts  # type: ignore[union-attr]
    assert all(i.id.startswith("msg_") and i.role == "user" for i in every)  # type: ignore[union-attr]
    ids = [i.id for i in every]
    # the default order is newest first
    assert [i.id for i in items.list(response.id).data] == ids[::-1]
    page = items.list(response.id, limit=2, order="asc")
    assert [i.id for i in page.data] == ids[:2] and page.has_more is True
    page = items.list(response.id, limit=2, order="asc", after=ids[1])
    assert [i.id for i in page.data] == ids[2:4] and page.has_more is True
    page = items.list(response.id, limit=2, order="asc", after=ids[3])
    assert [i.id for i in page.data] == ids[4:] and page.has_more is False
    page = items.list(response.id, limit=2, order="desc", after=ids[2])
    assert [i.id for i in page.data] == [ids[1], ids[0]] and page.has_more is False
    # the SDK's auto-pagination follows `after`
    assert [i.id for i in items.list(response.id, limit=2, order="asc")] == ids
    assert [i.id for i in items.list(response.id, limit=3)] == ids[::-1]
    raw = app.get(f"{PREFIX}/responses/{response.id}/input_items?limit=2&order=asc").json()
    assert raw["object"] == "list"
    assert raw["first_id"] == ids[0] and raw["last_id"] == ids[1] and raw["has_more"] is True
    empty = app.get(f"{PREFIX}/responses/{response.id}/input_items?after=msg_nope").json()
    assert empty == {
        "object": "list",
        "data": [],
        "first_id": None,
        "last_id": None,
        "has_more": False,
    }


def test_input_items_refuse_a_bad_order(scripted_client: AppFactory) -> None:
    client, _, _ = setup(scripted_client)
    response = client.responses.create(model=MODEL, input="hi")
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.input_items.list(response.id, order="sideways")  # type: ignore[arg-type]
    assert caught.value.body["message"] == (  # type: ignore[index]
        "Invalid 'order': must be asc or desc, got sideways."
    )


@pytest.mark.parametrize(
    "where", ["responses/{response}/input_items", "conversations/{conv}/items"]
)
@pytest.mark.parametrize("limit", [0, 101])
def test_out_of_range_limit_is_a_bad_request(
    scripted_client: AppFactory, where: str, limit: int
) -> None:
    client, _, app = setup(scripted_client)
    response = client.responses.create(model=MODEL, input="hi")
    conversation = client.conversations.create()
    path = where.format(response=response.id, conv=conversation.id)
    answer = app.get(f"{PREFIX}/{path}?limit={limit}")
    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid_parameter_error"


# -- streaming --------------------------------------------------------------------------


def test_stream_event_order_and_sequence_numbers(scripted_client: AppFactory) -> None:
    client, _, _ = setup(scripted_client)
    events = list(
        client.responses.create(model=MODEL, input="one two three", stream=True, instructions="x")
    )
    assert [e.type for e in events] == TEXT_STREAM_TYPES
    assert [e.sequence_number for e in events] == list(range(len(events)))
    created, in_progress, added, part_added, *deltas = events[:7]
    assert created.response.status == "in_progress"  # type: ignore[union-attr]
    assert created.response.output == []  # type: ignore[union-attr]
    assert created.response.instructions == "x"  # type: ignore[union-attr]
    response_id = created.response.id  # type: ignore[union-attr]
    assert in_progress.response.id == response_id  # type: ignore[union-attr]
    item_id = added.item.id  # type: ignore[union-attr]
    assert added.item.type == "message" and added.item.status == "in_progress"  # type: ignore[union-attr]
    assert added.output_index == 0  # type: ignore[union-attr]
    assert part_added.item_id == item_id  # type: ignore[union-attr]
    assert part_added.part.type == "output_text" and part_added.part.text == ""  # type: ignore[union-attr]
    assert [d.delta for d in deltas] == ["one", " two", " three"]  # type: ignore[union-attr]
    assert all(d.item_id == item_id and d.content_index == 0 for d in deltas)  # type: ignore[union-attr]
    text_done, part_done, item_done, completed = events[7:]
    assert text_done.text == "one two three"  # type: ignore[union-attr]
    assert part_done.part.text == "one two three"  # type: ignore[union-attr]
    assert item_done.item.id == item_id and item_done.item.status == "completed"  # type: ignore[union-attr]
    final = completed.response  # type: ignore[union-attr]
    assert final.id == response_id and final.status == "completed"
    assert final.output[0].id == item_id
    assert final.output_text == "one two three"
    assert final.usage.output_tokens == 3
    retrieved = client.responses.retrieve(response_id)
    assert retrieved.model_dump() == final.model_dump()


def test_the_sdk_stream_helper_accumulates_the_response(scripted_client: AppFactory) -> None:
    client, _, _ = setup(scripted_client)
    with client.responses.stream(model=MODEL, input="hello there") as stream:
        text = "".join(e.delta for e in stream if e.type == "response.output_text.delta")
        final = stream.get_final_response()
    assert text == "hello there"
    assert final.output_text == "hello there"
    with client.responses.stream(
        model=MODEL,
        input="Paris",
        tools=[WEATHER],  # type: ignore[list-item]
        extra_body={"enable_thinking": True},
    ) as stream:
        final = stream.get_final_response()
    assert [o.type for o in final.output] == ["reasoning", "function_call"]


def test_stream_with_tools(scripted_client: AppFactory) -> None:
    client, _, _ = setup(scripted_client)
    events = list(
        client.responses.create(
            model=MODEL,
            input="Paris",
            tools=[WEATHER],  # type: ignore[list-item]
            stream=True,
        )
    )
    assert [e.type for e in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    added, first, second, done, item_done = events[2:7]
    assert added.item.type == "function_call"  # type: ignore[union-attr]
    assert added.item.name == "get_weather" and added.item.arguments == ""  # type: ignore[union-attr]
    call_id = added.item.call_id  # type: ignore[union-attr]
    assert call_id
    arguments = first.delta + second.delta  # type: ignore[union-attr]
    assert arguments == '{"city": "Paris", "days": 1}'
    assert done.arguments == arguments and done.name == "get_weather"  # type: ignore[union-attr]
    assert item_done.item.type == "function_call"  # type: ignore[union-attr]
    assert item_done.item.call_id == call_id  # type: ignore[union-attr]
    assert item_done.item.arguments == arguments  # type: ignore[union-attr]
    (call,) = events[-1].response.output  # type: ignore[union-attr]
    assert call.type == "function_call"
    assert call.call_id == call_id and call.arguments == arguments
    assert call.id == added.item.id  # type: ignore[union-attr]


def test_stream_with_thinking(scripted_client: AppFactory) -> None:
    client, _, _ = setup(scripted_client)
    events = list(
        client.responses.create(
            model=MODEL, input="hello there", stream=True, extra_body={"enable_thinking": True}
        )
    )
    types = [e.type for e in events]
    assert types[:8] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done",
        "response.reasoning_summary_part.done",
        "response.output_item.done",
    ]
    assert types[8:] == [
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert events[2].item.type == "reasoning" and events[2].output_index == 0  # type: ignore[union-attr]
    assert events[4].delta == "The user wrote: hello there"  # type: ignore[union-attr]
    assert events[8].output_index == 1  # type: ignore[union-attr]
    final = events[-1].response  # type: ignore[union-attr]
    assert [o.type for o in final.output] == ["reasoning", "message"]
    assert final.output[0].summary[0].text == "The user wrote: hello there"
    assert final.usage.output_tokens_details.reasoning_tokens > 0


def test_stream_cut_by_max_output_tokens_ends_incomplete(scripted_client: AppFactory) -> None:
    client, _, _ = setup(scripted_client)
    words = " ".join(f"w{i}" for i in range(20))
    events = list(
        client.responses.create(model=MODEL, input=words, max_output_tokens=16, stream=True)
    )
    last = events[-1]
    assert last.type == "response.incomplete"
    assert last.response.status == "incomplete"
    assert last.response.incomplete_details.reason == "max_output_tokens"  # type: ignore[union-attr]
    assert client.responses.retrieve(last.response.id).status == "incomplete"


def test_stream_with_store_false_is_not_kept(scripted_client: AppFactory) -> None:
    client, _, _ = setup(scripted_client)
    events = list(client.responses.create(model=MODEL, input="hi", stream=True, store=False))
    assert events[-1].type == "response.completed"
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(events[-1].response.id)  # type: ignore[union-attr]


class FailingMidStream(ScriptedBackend):
    """Streams the first word, then fails."""

    async def generate(self, request, model):  # type: ignore[no-untyped-def,override]
        async for event in super().generate(request, model):
            yield event
            if getattr(event, "text", None) == "hello":
                raise errors.Overloaded("Model is unavailable, please try again later.")


def test_failure_mid_stream_ends_with_response_failed_and_is_stored(
    scripted_client: AppFactory,
) -> None:
    client = sdk(scripted_client(FailingMidStream()))
    events = list(client.responses.create(model=MODEL, input="hello there", stream=True))
    types = [e.type for e in events]
    assert types[:5] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
    ]
    assert types[-1] == "response.failed"
    assert "response.completed" not in types
    assert [e.sequence_number for e in events] == list(range(len(events)))
    failed = events[-1].response  # type: ignore[union-attr]
    assert failed.status == "failed"
    assert failed.error is not None
    assert failed.error.code == "model_unavailable"
    assert failed.error.message == "Model is unavailable, please try again later."
    stored = client.responses.retrieve(failed.id)
    assert stored.status == "failed"
    assert stored.error is not None and stored.error.code == "model_unavailable"


def test_failure_before_the_stream_is_a_plain_error(scripted_client: AppFactory) -> None:
    client, _, _ = setup(scripted_client)
    with pytest.raises(openai.NotFoundError) as caught:
        client.responses.create(model="qwen-nope", input="hi", stream=True)
    assert caught.value.body["code"] == "model_not_found"  # type: ignore[index]


@pytest.mark.parametrize("tool", ["web_search", "code_interpreter", "web_extractor", "mcp"])
def test_a_built_in_tool_the_backend_cannot_run_is_refused_by_name(
    scripted_client: AppFactory, tool: str
) -> None:
    client, backend, _ = setup(scripted_client)
    declared: dict[str, Any] = {"type": tool}
    if tool == "mcp":
        declared |= {"server_label": "maps", "server_url": "https://mcp.example/sse"}
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model=MODEL, input="hi", tools=[declared])  # type: ignore[list-item]
    body: dict[str, Any] = caught.value.body  # type: ignore[assignment]
    assert body["code"] == "invalid_parameter_error"
    assert tool in body["message"] and "enable_" not in body["message"]
    assert not backend.requests  # refused before the backend saw it


# -- conversations ----------------------------------------------------------------------


def test_conversation_lifecycle(scripted_client: AppFactory) -> None:
    client, _, _ = setup(scripted_client)
    conversation = client.conversations.create(
        metadata={"topic": "demo"},
        items=[
            {"type": "message", "role": "user", "content": "remember seven"},
            {"type": "message", "role": "assistant", "content": "noted"},
        ],
    )
    assert conversation.id.startswith("conv_")
    assert conversation.object == "conversation"
    assert conversation.metadata == {"topic": "demo"}
    assert conversation.created_at > 0
    retrieved = client.conversations.retrieve(conversation.id)
    assert retrieved.model_dump() == conversation.model_dump()
    updated = client.conversations.update(conversation.id, metadata={"topic": "changed"})
    assert updated.metadata == {"topic": "changed"}
    assert client.conversations.retrieve(conversation.id).metadata == {"topic": "changed"}
    items = client.conversations.items.list(conversation.id, order="asc").data
    assert [(i.role, i.content[0].text) for i in items] == [  # type: ignore[union-attr]
        ("user", "remember seven"),
        ("assistant", "noted"),
    ]
    assert items[1].content[0].type == "output_text"  # type: ignore[union-attr]
    deleted = client.conversations.delete(conversation.id)
    assert deleted.id == conversation.id and deleted.deleted is True
    with pytest.raises(openai.NotFoundError):
        client.conversations.retrieve(conversation.id)
    with pytest.raises(openai.NotFoundError):
        client.conversations.items.list(conversation.id)
    with pytest.raises(openai.NotFoundError):
        client.conversations.delete(conversation.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.create(model=MODEL, input="hi", conversation=conversation.id)


def test_responses_accumulate_in_a_conversation(scripted_client: AppFactory) -> None:
    client, backend, _ = setup(scripted_client)
    conversation = client.conversations.create(
        items=[{"type": "message", "role": "user", "content": "remember seven"}]
    )
    first = client.responses.create(
        model=MODEL, input="first question", conversation=conversation.id, instructions="terse"
    )
    assert first.conversation is not None and first.conversation.id == conversation.id
    assert roles_and_texts(last_messages(backend)) == [
        (Role.SYSTEM, "terse"),
        (Role.USER, "remember seven"),
        (Role.USER, "first question"),
    ]
    second = client.responses.create(
        model=MODEL, input="second question", conversation={"id": conversation.id}
    )
    assert roles_and_texts(last_messages(backend)) == [
        (Role.USER, "remember seven"),
        (Role.USER, "first question"),
        (Role.ASSISTANT, "first question"),
        (Role.USER, "second question"),
    ]
    items = client.conversations.items.list(conversation.id, order="asc").data
    assert [(i.role, i.content[0].text) for i in items] == [  # type: ignore[union-attr]
        ("user", "remember seven"),
        ("user", "first question"),
        ("assistant", "first question"),
        ("user", "second question"),
        ("assistant", "second question"),
    ]
    assert items[2].id == first.output[0].id
    assert items[4].id == second.output[0].id
    newest_first = client.conversations.items.list(conversation.id).data
    assert [i.id for i in newest_first] == [i.id for i in items][::-1]
    # the responses are stored and retrievable too
    assert client.responses.retrieve(second.id).conversation.id == conversation.id  # type: ignore[union-attr]


def test_a_streamed_turn_and_an_unstored_turn_join_the_conversation(
    scripted_client: AppFactory,
) -> None:
    client, _, _ = setup(scripted_client)
    conversation = client.conversations.create()
    events = list(
        client.responses.create(
            model=MODEL, input="streamed", conversation=conversation.id, stream=True
        )
    )
    assert events[-1].type == "response.completed"
    unstored = client.responses.create(
        model=MODEL, input="unstored", conversation=conversation.id, store=False
    )
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(unstored.id)
    items = client.conversations.items.list(conversation.id, order="asc").data
    assert [(i.role, i.content[0].text) for i in items] == [  # type: ignore[union-attr]
        ("user", "streamed"),
        ("assistant", "streamed"),
        ("user", "unstored"),
        ("assistant", "unstored"),
    ]


def test_conversation_function_call_round_trip(scripted_client: AppFactory) -> None:
    client, backend, _ = setup(scripted_client)
    conversation = client.conversations.create()
    first = client.responses.create(
        model=MODEL,
        input="Paris",
        conversation=conversation.id,
        tools=[WEATHER],  # type: ignore[list-item]
    )
    call = first.output[0]
    assert call.type == "function_call"
    second = client.responses.create(
        model=MODEL,
        conversation=conversation.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}],
        tools=[WEATHER],  # type: ignore[list-item]
    )
    assert second.output_text == "The tool returned: sunny"
    assert [m.role for m in last_messages(backend)] == [Role.USER, Role.ASSISTANT, Role.TOOL]
    items = client.conversations.items.list(conversation.id, order="asc").data
    assert [i.type for i in items] == [
        "message",
        "function_call",
        "function_call_output",
        "message",
    ]
    assert items[1].call_id == call.call_id  # type: ignore[union-attr]


def test_conversation_items_create_retrieve_delete(scripted_client: AppFactory) -> None:
    client, _, _ = setup(scripted_client)
    conversation = client.conversations.create(
        items=[{"type": "message", "role": "user", "content": "first"}]
    )
    added = client.conversations.items.create(
        conversation.id,
        items=[
            {"type": "message", "role": "user", "content": "second"},
            {"type": "message", "role": "user", "content": "third"},
        ],
    )
    assert [i.content[0].text for i in added.data] == ["second", "third"]  # type: ignore[union-attr]
    assert added.first_id == added.data[0].id and added.last_id == added.data[1].id
    assert added.has_more is False
    items = client.conversations.items.list(conversation.id, order="asc").data
    assert [i.content[0].text for i in items] == ["first", "second", "third"]  # type: ignore[union-attr]
    one = client.conversations.items.retrieve(items[1].id, conversation_id=conversation.id)
    assert one.model_dump() == items[1].model_dump()
    after_delete = client.conversations.items.delete(items[1].id, conversation_id=conversation.id)
    assert after_delete.id == conversation.id and after_delete.object == "conversation"
    remaining = client.conversations.items.list(conversation.id, order="asc").data
    assert [i.content[0].text for i in remaining] == ["first", "third"]  # type: ignore[union-attr]
    with pytest.raises(openai.NotFoundError):
        client.conversations.items.retrieve(items[1].id, conversation_id=conversation.id)
    with pytest.raises(openai.NotFoundError):
        client.conversations.items.delete(items[1].id, conversation_id=conversation.id)
    with pytest.raises(openai.NotFoundError):
        client.conversations.items.retrieve(items[0].id, conversation_id="conv_nope")
    with pytest.raises(openai.BadRequestError) as duplicate:
        client.conversations.items.create(
            conversation.id,
            items=[{"type": "message", "role": "user", "content": "x", "id": items[0].id}],  # type: ignore[list-item]
        )
    assert items[0].id in duplicate.value.body["message"]  # type: ignore[index]


def test_conversation_items_pagination(scripted_client: AppFactory) -> None:
    client, _, app = setup(scripted_client)
    conversation = client.conversations.create(
        items=[{"type": "message", "role": "user", "content": f"m{i}"} for i in range(5)]
    )
    listing = client.conversations.items
    ids = [i.id for i in listing.list(conversation.id, order="asc").data]
    assert len(ids) == 5
    page = listing.list(conversation.id, limit=2, order="asc")
    assert [i.id for i in page.data] == ids[:2] and page.has_more is True
    assert page.last_id == ids[1]
    page = listing.list(conversation.id, limit=2, order="asc", after=ids[1])
    assert [i.id for i in page.data] == ids[2:4]
    page = listing.list(conversation.id, limit=2, order="desc", after=ids[1])
    assert [i.id for i in page.data] == ids[:1] and page.has_more is False
    assert [i.id for i in listing.list(conversation.id, limit=2, order="asc")] == ids
    assert [i.id for i in listing.list(conversation.id, limit=2)] == ids[::-1]
    raw = app.get(f"{PREFIX}/conversations/{conversation.id}/items?limit=3").json()
    assert raw["first_id"] == ids[4] and raw["last_id"] == ids[2] and raw["has_more"] is True


# -- errors -----------------------------------------------------------------------------


def assert_flat_error(answer: Any, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status
    body: dict[str, Any] = answer.json()
    assert set(body) == {"code", "message", "request_id"}
    assert body["code"] == code
    assert body["request_id"] == answer.headers["x-request-id"]
    return body


@pytest.mark.parametrize("prefix", ["/compatible-mode/v1", "/v1"])
def test_get_on_the_collection_is_405(scripted_client: AppFactory, prefix: str) -> None:
    answer = scripted_client().get(f"{prefix}/responses")
    assert_flat_error(answer, 405, "method_not_allowed")


def test_the_sdk_maps_405(scripted_client: AppFactory) -> None:
    client, _, _ = setup(scripted_client)
    with pytest.raises(openai.APIStatusError) as caught:
        client.get("/responses", cast_to=object)
    assert caught.value.status_code == 405


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("POST", "/responses", {"model": MODEL, "input": "hi", "top_p": 0}, 400, None),
        ("POST", "/responses", {"model": MODEL}, 400, None),
        ("POST", "/responses", {"model": "qwen-nope", "input": "hi"}, 404, "model_not_found"),
        ("GET", "/responses/resp_nope", None, 404, "not_found"),
        ("DELETE", "/responses/resp_nope", None, 404, "not_found"),
        ("GET", "/responses/resp_nope/input_items", None, 404, "not_found"),
        ("GET", "/conversations/conv_nope", None, 404, "not_found"),
        ("POST", "/conversations/conv_nope", {"metadata": {}}, 404, "not_found"),
        ("POST", "/conversations", {"metadata": "not a map"}, 400, None),
    ],
)
def test_errors_have_the_flat_shape(
    scripted_client: AppFactory,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    status: int,
    code: str | None,
) -> None:
    answer = scripted_client().request(method, PREFIX + path, json=body)
    assert_flat_error(answer, status, code or "invalid_parameter_error")


def test_invalid_json_and_empty_input(scripted_client: AppFactory) -> None:
    app = scripted_client()
    answer = app.post(f"{PREFIX}/responses", content=b"{not json")
    assert "not valid JSON" in assert_flat_error(answer, 400, "invalid_parameter_error")["message"]
    answer = app.post(f"{PREFIX}/responses", json={"model": MODEL, "input": []})
    assert_flat_error(answer, 400, "invalid_parameter_error")


def test_unknown_model(scripted_client: AppFactory) -> None:
    client, _, _ = setup(scripted_client)
    with pytest.raises(openai.NotFoundError) as caught:
        client.responses.create(model="qwen-nope", input="hi")
    assert caught.value.code == "model_not_found"
    assert caught.value.body["message"].startswith(  # type: ignore[index]
        "The model qwen-nope does not exist"
    )
    assert caught.value.body["request_id"] == caught.value.response.headers["x-request-id"]  # type: ignore[index]


def test_wrong_api_key(scripted_client: AppFactory) -> None:
    app = scripted_client()
    bad = openai.OpenAI(
        base_url=f"http://testserver{PREFIX}", api_key="sk-wrong", http_client=app, max_retries=0
    )
    with pytest.raises(openai.AuthenticationError) as caught:
        bad.responses.create(model=MODEL, input="hi")
    assert caught.value.code == "invalid_api_key"
    assert set(caught.value.body) == {"code", "message", "request_id"}  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("make", "exception", "code"),
    [
        (lambda: errors.RateLimited("Too many."), openai.RateLimitError, "limit_requests"),
        (
            lambda: errors.Overloaded("Model is unavailable, please try again later."),
            openai.InternalServerError,
            "model_unavailable",
        ),
        (
            lambda: errors.PermissionDenied("Model access denied."),
            openai.PermissionDeniedError,
            "access_denied",
        ),
    ],
)
def test_backend_errors_raise_the_sdk_exception(
    scripted_client: AppFactory,
    make: Any,
    exception: type[openai.APIStatusError],
    code: str,
) -> None:
    def script(request: Any, choice: int) -> list[Any]:
        raise make()

    client = sdk(scripted_client(ScriptedBackend(script)))
    with pytest.raises(exception) as caught:
        client.responses.create(model=MODEL, input="hi")
    assert caught.value.code == code
    assert set(caught.value.body) == {"code", "message", "request_id"}  # type: ignore[arg-type]


def test_forcing_a_tool_in_thinking_mode_is_refused(scripted_client: AppFactory) -> None:
    client, _, _ = setup(scripted_client)
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(
            model=MODEL,
            input="hi",
            tools=[WEATHER],  # type: ignore[list-item]
            tool_choice="required",
            extra_body={"enable_thinking": True},
        )
    assert caught.value.body["message"] == (  # type: ignore[index]
        "The tool_choice parameter does not support being set to required or object in "
        "thinking mode"
    )


def test_expired_responses_are_gone(scripted_client: AppFactory) -> None:
    client = sdk(scripted_client(response_retention_seconds=0))
    response = client.responses.create(model=MODEL, input="hi")
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(response.id)
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model=MODEL, input="more", previous_response_id=response.id)
    assert caught.value.body["message"] == (  # type: ignore[index]
        f"Not found previous_response_id: {response.id}"
    )


def test_a_duplicate_conversation_item_is_refused_before_generating(
    scripted_client: AppFactory,
) -> None:
    client, backend, app = setup(scripted_client)
    conversation = client.conversations.create(
        items=[{"type": "message", "role": "user", "content": "x", "id": "msg_taken"}]  # type: ignore[list-item]
    )
    body = {
        "model": MODEL,
        "input": [{"id": "msg_taken", "role": "user", "content": "x"}],
        "conversation": conversation.id,
        "stream": True,
    }
    answer = app.post(f"{PREFIX}/responses", json=body)
    assert answer.status_code == 400
    assert not backend.requests


def test_the_session_cache_a_backend_cannot_honour_is_refused(
    scripted_client: AppFactory,
) -> None:
    backend = ScriptedBackend(features=BackendFeatures(tools=True))
    response = scripted_client(backend).post(
        f"{PREFIX}/responses",
        json={"model": MODEL, "input": "hi"},
        headers={"x-dashscope-session-cache": "enable"},
    )
    assert response.status_code == 400
    assert "x-dashscope-session-cache" in response.json()["message"]
    assert not backend.requests
