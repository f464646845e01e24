"""The official openai SDK's Responses and Conversations clients against a real server: the
embedded model for generation (through the `qwen-plus` alias), the scripted backend
(`scripted-echo`) where exact token counts or tool calls are needed, and state that survives
stopping the server and starting it again on the same data."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.e2e.conftest import (
    ALIAS,
    SCRIPTED,
    openai_sdk,
    serving,
)

pytestmark = pytest.mark.e2e

MAX_OUTPUT = 16  # the floor; the embedded model runs ~100 tokens/s
QUESTION = "Name one colour."
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather in a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}
PG_URL = os.environ.get("OPENSCOPE_TEST_DATABASE_URL")
# .ci/run starts a throwaway PostgreSQL and sets the URL; without one these run on SQLite only
NEEDS_POSTGRESQL = "needs a PostgreSQL: set OPENSCOPE_TEST_DATABASE_URL (.ci/run starts one)"


def create(client: openai.OpenAI, **fields: Any) -> Any:
    fields.setdefault("model", ALIAS)
    fields.setdefault("input", QUESTION)
    if fields["model"] == ALIAS:
        fields.setdefault("max_output_tokens", MAX_OUTPUT)
    return client.responses.create(**fields)


def assert_answered(response: Any, *, max_output: int = MAX_OUTPUT) -> None:
    """A real-model answer: completed, or cut by max_output_tokens, with text either way."""
    assert response.status in ("completed", "incomplete")
    if response.status == "incomplete":
        assert response.incomplete_details.reason == "max_output_tokens"
    assert response.output_text
    assert response.output[-1].type == "message"
    assert 0 < response.usage.output_tokens <= max_output


def test_create_retrieve_delete(client: openai.OpenAI) -> None:
    response = create(client)
    assert response.id.startswith("resp_")
    assert response.object == "response"
    assert response.model == ALIAS
    assert response.error is None
    assert_answered(response)
    usage = response.usage
    assert usage.input_tokens > 3
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens
    assert usage.input_tokens_details.cached_tokens == 0
    assert usage.output_tokens_details.reasoning_tokens == 0
    assert client.responses.retrieve(response.id).model_dump() == response.model_dump()
    client.responses.delete(response.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(response.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.delete(response.id)


def test_chain_three_turns(client: openai.OpenAI) -> None:
    first = create(client, input="My name is Ada.", instructions="Answer in one short sentence.")
    second = create(client, input="What is my name?", previous_response_id=first.id)
    third = create(client, input="Say it again.", previous_response_id=second.id)
    for response in (first, second, third):
        assert_answered(response)
    assert second.previous_response_id == first.id
    assert third.previous_response_id == second.id
    assert third.instructions is None
    # each turn's context holds the whole history before it
    assert third.usage.input_tokens > second.usage.input_tokens + second.usage.output_tokens
    retrieved = client.responses.retrieve(third.id)
    assert retrieved.model_dump() == third.model_dump()
    (item,) = client.responses.input_items.list(third.id).data
    assert item.type == "message" and item.role == "user"  # type: ignore[union-attr]
    assert item.content[0].text == "Say it again."  # type: ignore[union-attr]


def test_chaining_drops_the_earlier_instructions(client: openai.OpenAI) -> None:
    """Exact counts from the scripted backend (words plus one per message)."""
    first = create(client, model=SCRIPTED, input="one", instructions="a b c d e")
    assert first.usage.input_tokens == 6 + 2
    second = create(client, model=SCRIPTED, input="two", previous_response_id=first.id)
    assert second.output_text == "two"
    assert second.usage.input_tokens == 2 + 2 + 2  # user one, assistant one, user two


def test_input_items_pagination(client: openai.OpenAI) -> None:
    texts = ["first", "second", "third"]
    response = create(client, model=SCRIPTED, input=[{"role": "user", "content": t} for t in texts])
    items = client.responses.input_items
    ascending = items.list(response.id, order="asc").data
    assert [i.content[0].text for i in ascending] == texts  # type: ignore[union-attr]
    ids = [i.id for i in ascending]
    page = items.list(response.id, limit=2, order="asc")
    assert [i.id for i in page.data] == ids[:2] and page.has_more is True
    page = items.list(response.id, limit=2, order="asc", after=ids[1])
    assert [i.id for i in page.data] == ids[2:] and page.has_more is False
    assert [i.id for i in items.list(response.id, limit=1)] == ids[::-1]


def test_store_false_is_not_retrievable(client: openai.OpenAI) -> None:
    response = create(client, store=False)
    assert_answered(response)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(response.id)
    with pytest.raises(openai.BadRequestError) as caught:
        create(client, previous_response_id=response.id)
    assert caught.value.body["message"] == (  # type: ignore[index]
        f"Not found previous_response_id: {response.id}"
    )


def test_request_errors(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as unknown:
        create(client, previous_response_id="resp_doesnotexist")
    assert unknown.value.body == {
        "code": "invalid_parameter_error",
        "message": "Not found previous_response_id: resp_doesnotexist",
        "request_id": unknown.value.response.headers["x-request-id"],
    }
    with pytest.raises(openai.BadRequestError) as exclusive:
        create(client, previous_response_id="resp_1", conversation="conv_1")
    assert exclusive.value.body["message"] == (  # type: ignore[index]
        "Mutually exclusive parameters: Ensure you are only providing one of: "
        "previous_response_id or conversation."
    )
    with pytest.raises(openai.BadRequestError) as floor:
        create(client, max_output_tokens=1)
    assert floor.value.body["message"] == (  # type: ignore[index]
        "Invalid 'max_output_tokens': must be greater than or equal to 16, got 1."
    )
    with pytest.raises(openai.NotFoundError) as model:
        create(client, model="qwen-nope")
    assert model.value.code == "model_not_found"
    with pytest.raises(openai.APIStatusError) as collection:
        client.get("/responses", cast_to=object)
    assert collection.value.status_code == 405


def test_stream_event_order_and_sequence_numbers(client: openai.OpenAI) -> None:
    events = []
    retrieved = None
    with create(client, stream=True) as stream:
        for event in stream:
            events.append(event)
            if event.type in ("response.completed", "response.incomplete"):
                # stored before the closing event is sent: retrievable at once
                retrieved = client.responses.retrieve(event.response.id)
    types = [e.type for e in events]
    assert types[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    deltas = [e for e in events if e.type == "response.output_text.delta"]
    assert deltas and types[4 : 4 + len(deltas)] == ["response.output_text.delta"] * len(deltas)
    assert types[4 + len(deltas) :] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        types[-1],
    ]
    assert types[-1] in ("response.completed", "response.incomplete")
    assert [e.sequence_number for e in events] == list(range(len(events)))
    text = "".join(d.delta for d in deltas)
    assert events[-4].text == text  # type: ignore[union-attr]
    final = events[-1].response  # type: ignore[union-attr]
    assert final.id == events[0].response.id  # type: ignore[union-attr]
    assert final.output_text == text
    assert_answered(final)
    assert retrieved is not None
    assert retrieved.model_dump() == final.model_dump()


def test_conversation_accumulates_two_turns(client: openai.OpenAI) -> None:
    conversation = client.conversations.create(metadata={"suite": "e2e"})
    assert conversation.id.startswith("conv_")
    first = create(client, input="My name is Ada.", conversation=conversation.id)
    second = create(client, input="What is my name?", conversation=conversation.id)
    assert_answered(first)
    assert_answered(second)
    assert second.conversation.id == conversation.id
    # the second turn saw the first one
    assert second.usage.input_tokens > first.usage.input_tokens + first.usage.output_tokens
    items = client.conversations.items.list(conversation.id, order="asc").data
    assert [(i.type, i.role) for i in items] == [  # type: ignore[union-attr]
        ("message", "user"),
        ("message", "assistant"),
        ("message", "user"),
        ("message", "assistant"),
    ]
    assert items[0].content[0].text == "My name is Ada."  # type: ignore[union-attr]
    assert items[1].id == first.output[-1].id
    assert items[1].content[0].text == first.output_text  # type: ignore[union-attr]
    assert items[3].id == second.output[-1].id
    retrieved = client.conversations.retrieve(conversation.id)
    assert retrieved.metadata == {"suite": "e2e"}
    assert client.conversations.delete(conversation.id).deleted is True
    with pytest.raises(openai.NotFoundError):
        client.conversations.items.list(conversation.id)


def test_function_call_round_trip_through_previous_response_id(client: openai.OpenAI) -> None:
    with client.responses.stream(
        model=SCRIPTED,
        input="Paris",
        tools=[WEATHER],  # type: ignore[list-item]
    ) as stream:
        first = stream.get_final_response()
    (call,) = first.output
    assert call.type == "function_call"
    assert call.name == "get_weather" and call.call_id
    assert call.arguments == '{"city": "Paris"}'
    (stored,) = client.responses.retrieve(first.id).output
    assert stored.type == "function_call"
    assert (stored.id, stored.call_id, stored.arguments) == (call.id, call.call_id, call.arguments)
    second = create(
        client,
        model=SCRIPTED,
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}],
        tools=[WEATHER],
    )
    assert second.output_text == "The tool returned: sunny"
    # the scripted backend counts words in text plus one per message: user "Paris" (2),
    # the call (1) and its output (1): the call came back from the store
    assert second.usage.input_tokens == 4
    (item,) = client.responses.input_items.list(second.id).data
    assert item.type == "function_call_output"
    assert item.call_id == call.call_id and item.output == "sunny"  # type: ignore[union-attr]


def test_a_stream_hung_up_on_leaves_nothing_stored(client: openai.OpenAI) -> None:
    """Only finished turns are kept: a client that hangs up mid-stream leaves no response
    behind (greedy decoding keeps the embedded model going to the limit, about 20 s)."""
    deltas = 0
    with create(
        client,
        input="Write a very long and detailed essay about the history of the Roman Empire.",
        max_output_tokens=1000,
        temperature=0.0,
        stream=True,
    ) as stream:
        for event in stream:
            if event.type == "response.created":
                response_id = event.response.id
            deltas += event.type == "response.output_text.delta"
            if deltas == 3:
                break
    assert deltas == 3
    # a later request is answered, and the abandoned one was never stored
    assert_answered(create(client))
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(response_id)


# -- state across a restart --------------------------------------------------------------


@pytest.mark.parametrize(
    "database",
    [
        "sqlite",
        pytest.param(
            "postgresql",
            marks=pytest.mark.skipif(not PG_URL, reason=NEEDS_POSTGRESQL),
        ),
    ],
)
def test_state_survives_a_restart(tmp_path: Path, database: str) -> None:
    env = (
        {"OPENSCOPE_DATABASE_URL": PG_URL, "OPENSCOPE_KEY_PEPPER": "e2e-pepper"}
        if database == "postgresql" and PG_URL
        else {}
    )
    api_key = f"sk-e2e-{secrets.token_hex(12)}"
    with serving(tmp_path, api_key=api_key, env=env, log_name="server-1.log") as server:
        client = openai_sdk(server)
        scripted = create(client, model=SCRIPTED, input="alpha beta gamma")
        real = create(client, input="My name is Ada.")
        conversation = client.conversations.create(
            metadata={"run": "1"}, items=[{"type": "message", "role": "user", "content": "hi"}]
        )
        client.close()
    # the state lives where it should: SQLite in the data dir, or only in PostgreSQL
    assert (tmp_path / "data" / "openscope.db").is_file() is (database == "sqlite")

    with serving(tmp_path, api_key=api_key, env=env, log_name="server-2.log") as server:
        client = openai_sdk(server)
        assert client.responses.retrieve(scripted.id).model_dump() == scripted.model_dump()
        assert client.responses.retrieve(real.id).model_dump() == real.model_dump()
        # chain on a response the previous process stored
        again = create(client, model=SCRIPTED, input="delta", previous_response_id=scripted.id)
        assert again.output_text == "delta"
        assert again.usage.input_tokens == 4 + 4 + 2  # the stored turn came back as context
        (item,) = client.responses.input_items.list(again.id).data
        assert item.content[0].text == "delta"  # type: ignore[union-attr]
        follow_up = create(client, input="What is my name?", previous_response_id=real.id)
        assert_answered(follow_up)
        assert follow_up.previous_response_id == real.id
        assert follow_up.usage.input_tokens > real.usage.input_tokens + real.usage.output_tokens
        assert client.conversations.retrieve(conversation.id).metadata == {"run": "1"}
        (kept,) = client.conversations.items.list(conversation.id).data
        assert kept.content[0].text == "hi"  # type: ignore[union-attr]
        client.close()


@pytest.mark.skipif(not PG_URL, reason=NEEDS_POSTGRESQL)
def test_two_replicas_share_one_postgresql(tmp_path: Path) -> None:
    """Stateless replicas: a response or conversation made through one is read, chained and
    listed through the other while both run, with no stickiness in front."""
    env = {"OPENSCOPE_DATABASE_URL": PG_URL or "", "OPENSCOPE_KEY_PEPPER": "e2e-pepper"}
    api_key = f"sk-e2e-{secrets.token_hex(12)}"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with (
        serving(tmp_path / "a", api_key=api_key, env=env) as a,
        serving(tmp_path / "b", api_key=api_key, env=env) as b,
    ):
        on_a, on_b = openai_sdk(a), openai_sdk(b)
        first = create(on_a, model=SCRIPTED, input="alpha beta")
        assert on_b.responses.retrieve(first.id).output_text == first.output_text
        chained = create(on_b, model=SCRIPTED, input="gamma", previous_response_id=first.id)
        assert chained.usage.input_tokens == 3 + 3 + 2  # A's turn came back as context on B
        conversation = on_b.conversations.create(
            items=[{"type": "message", "role": "user", "content": "hi"}]
        )
        create(on_a, model=SCRIPTED, input="more", conversation=conversation.id)
        listed = on_b.conversations.items.list(conversation.id, order="asc").data
        assert [item.type for item in listed] == ["message", "message", "message"]
        on_a.responses.delete(chained.id)
        with pytest.raises(openai.NotFoundError):
            on_b.responses.retrieve(chained.id)
        on_a.close()
        on_b.close()
