"""The Messages routes driven by the official anthropic SDK over the in-process app and the
scripted backend: request/response shapes, streams, tool and thinking round trips, and
every error kind raised as the SDK's own exception class."""

import json
from collections.abc import Callable
from typing import Any

import anthropic
import pytest
from fastapi.testclient import TestClient

from openscope.backends.scripted import ScriptedBackend
from openscope.core import errors
from openscope.core.events import Event
from openscope.core.request import GenerateRequest
from tests.conftest import API_KEY, AppFactory

WEATHER = {
    "name": "get_weather",
    "description": "Weather in a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
        "required": ["city"],
    },
}


def sdk(client: TestClient, prefix: str = "/apps/anthropic") -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=f"http://testserver{prefix}", api_key=API_KEY, http_client=client, max_retries=0
    )


def ask(model: str = "qwen-plus", **fields: Any) -> dict[str, Any]:
    return {
        "model": model,
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "hello there"}],
        **fields,
    }


def test_create(scripted_client: AppFactory) -> None:
    message = sdk(scripted_client()).messages.create(**ask(system="be brief"))
    assert message.id.startswith("msg_")
    assert message.type == "message" and message.role == "assistant"
    assert message.model == "qwen-plus"
    assert message.content[0].type == "text" and message.content[0].text == "hello there"
    assert message.stop_reason == "end_turn" and message.stop_sequence is None
    assert message.usage.cache_creation_input_tokens == 0
    assert message.usage.cache_read_input_tokens == 0


def test_top_k_above_100_reaches_the_backend_as_0(scripted_client: AppFactory) -> None:
    backend = ScriptedBackend()
    client = scripted_client(backend)
    response = client.post("/apps/anthropic/v1/messages", json=ask(top_k=200))
    assert response.status_code == 200, response.text
    sent, _ = backend.requests[-1]
    assert sent.sampling.top_k == 0  # Model Studio's rule: top-k off, as in every API


def test_the_v1_prefix_serves_the_same_api(scripted_client: AppFactory) -> None:
    message = sdk(scripted_client(), prefix="").messages.create(**ask())
    assert message.content[0].text == "hello there"  # type: ignore[union-attr]


def test_stream_text_and_final_message(scripted_client: AppFactory) -> None:
    with sdk(scripted_client()).messages.stream(**ask()) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "hello there"
    assert final.content[0].text == "hello there"  # type: ignore[union-attr]
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens == 2


def test_stream_event_names_on_the_wire(scripted_client: AppFactory) -> None:
    client = scripted_client()
    with client.stream(
        "POST", "/apps/anthropic/v1/messages", json=ask(stream=True), headers={"x-api-key": API_KEY}
    ) as response:
        body = "".join(response.iter_text())
    frames = [f.split("\n") for f in body.strip().split("\n\n")]
    names = [f[0].removeprefix("event: ") for f in frames]
    assert names[:2] == ["message_start", "ping"]
    assert names[-2:] == ["message_delta", "message_stop"]
    for name, data in ((f[0][7:], json.loads(f[1][6:])) for f in frames):
        assert data["type"] == name


def test_count_tokens(scripted_client: AppFactory) -> None:
    counted = sdk(scripted_client()).messages.count_tokens(
        model="qwen-plus", messages=[{"role": "user", "content": "one two three"}]
    )
    assert counted.input_tokens == 4  # the scripted backend counts words plus one per message


def test_tool_use_round_trip(scripted_client: AppFactory) -> None:
    client = sdk(scripted_client())
    first = client.messages.create(**ask(tools=[WEATHER]))
    assert first.stop_reason == "tool_use"
    call = first.content[-1]
    assert call.type == "tool_use" and call.name == "get_weather"
    assert call.input == {"city": "hello there", "days": 1}
    second = client.messages.create(
        **ask(
            tools=[WEATHER],
            messages=[
                {"role": "user", "content": "hello there"},
                {"role": "assistant", "content": [c.model_dump() for c in first.content]},
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": call.id, "content": "sunny"}
                    ],
                },
            ],
        )
    )
    assert second.stop_reason == "end_turn"
    assert second.content[0].text == "The tool returned: sunny"  # type: ignore[union-attr]


def test_streamed_tool_use_arrives_as_input_json_deltas(scripted_client: AppFactory) -> None:
    with sdk(scripted_client()).messages.stream(**ask(tools=[WEATHER])) as stream:
        kinds = [e.delta.type for e in stream if e.type == "content_block_delta"]
        final = stream.get_final_message()
    assert kinds == ["input_json_delta", "input_json_delta"]
    assert final.content[0].input == {"city": "hello there", "days": 1}  # type: ignore[union-attr]


def test_thinking_round_trip(scripted_client: AppFactory) -> None:
    client = sdk(scripted_client())
    thinking = {"type": "enabled", "budget_tokens": 1024}
    first = client.messages.create(**ask(thinking=thinking))
    block = first.content[0]
    assert block.type == "thinking" and block.thinking == "The user wrote: hello there"
    assert block.signature
    with client.messages.stream(**ask(thinking=thinking)) as stream:
        streamed = stream.get_final_message()
    assert streamed.content[0] == block
    again = client.messages.create(
        **ask(
            thinking=thinking,
            messages=[
                {"role": "user", "content": "hello there"},
                {"role": "assistant", "content": [c.model_dump() for c in first.content]},
                {"role": "user", "content": "and now?"},
            ],
        )
    )
    assert again.content[-1].text == "and now?"  # type: ignore[union-attr]


def test_temperature_follows_model_studio(scripted_client: AppFactory) -> None:
    # anthropic>=2 takes sampling settings through extra_body
    client = sdk(scripted_client())
    client.messages.create(**ask(extra_body={"temperature": 1.5}))
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(**ask(extra_body={"temperature": 2.0}))
    assert caught.value.body["error"]["type"] == "invalid_request_error"  # type: ignore[index]


def test_both_auth_headers(scripted_client: AppFactory) -> None:
    client = scripted_client()
    for headers in ({"x-api-key": API_KEY}, {"Authorization": f"Bearer {API_KEY}"}):
        response = client.post(
            "/apps/anthropic/v1/messages",
            json=ask(),
            headers={"Authorization": "", "anthropic-version": "2023-06-01", **headers},
        )
        assert response.status_code == 200, headers
    missing = client.post("/apps/anthropic/v1/messages", json=ask(), headers={"Authorization": ""})
    assert missing.status_code == 401
    assert missing.json() == {
        "type": "error",
        "error": {"type": "authentication_error", "message": "No API-key provided."},
        "request_id": missing.headers["request-id"],
    }


def failing(error: errors.OpenScopeError) -> ScriptedBackend:
    def script(request: GenerateRequest, choice: int) -> list[Event]:
        raise error

    return ScriptedBackend(script)


@pytest.mark.parametrize(
    ("make", "exception", "error_type"),
    [
        (
            lambda: errors.PermissionDenied("Model access denied."),
            anthropic.PermissionDeniedError,
            "permission_error",
        ),
        (
            lambda: errors.RateLimited("Requests rate limit exceeded, please try again later."),
            anthropic.RateLimitError,
            "rate_limit_error",
        ),
        (
            lambda: errors.Overloaded("Model is unavailable, please try again later."),
            anthropic.OverloadedError,
            "overloaded_error",
        ),
        (
            lambda: errors.InternalError("An internal error has occured, please try again later."),
            anthropic.InternalServerError,
            "api_error",
        ),
    ],
)
def test_backend_errors_raise_the_sdk_exception(
    scripted_client: AppFactory,
    make: Callable[[], errors.OpenScopeError],
    exception: type[anthropic.APIStatusError],
    error_type: str,
) -> None:
    client = sdk(scripted_client(failing(make())))
    with pytest.raises(exception) as caught:
        client.messages.create(**ask())
    assert caught.value.body["error"]["type"] == error_type  # type: ignore[index]


def test_request_errors_raise_the_sdk_exception(scripted_client: AppFactory) -> None:
    app = scripted_client(max_body_bytes=2000)
    client = sdk(app)
    with pytest.raises(anthropic.BadRequestError):
        client.messages.create(**ask(messages=[]))
    with pytest.raises(anthropic.NotFoundError) as not_found:
        client.messages.create(**ask(model="qwen-max"))
    assert "The model qwen-max does not exist" in not_found.value.message
    assert "smollm2-135m-instruct" not in not_found.value.message  # no other served model
    with pytest.raises(anthropic.AuthenticationError):
        anthropic.Anthropic(
            base_url="http://testserver/apps/anthropic",
            api_key="sk-wrong",
            http_client=app,
            max_retries=0,
        ).messages.create(**ask())
    too_large = app.post("/apps/anthropic/v1/messages", json=ask(system="x" * 5000))
    assert too_large.status_code == 413
    assert too_large.json()["error"]["type"] == "request_too_large"
    unknown = app.get("/apps/anthropic/v1/nothing")
    assert unknown.status_code == 404 and unknown.json()["type"] == "error"


def test_failure_mid_stream_ends_with_an_error_event(scripted_client: AppFactory) -> None:
    class Failing(ScriptedBackend):
        async def generate(self, request, model):  # type: ignore[no-untyped-def,override]
            async for event in super().generate(request, model):
                yield event
                if getattr(event, "text", None) == "hello":
                    raise errors.Overloaded("Model is unavailable, please try again later.")

    client = scripted_client(Failing())
    with client.stream("POST", "/v1/messages", json=ask(stream=True)) as response:
        body = "".join(response.iter_text())
    last = body.strip().split("\n\n")[-1].split("\n")
    assert last[0] == "event: error"
    assert json.loads(last[1][6:])["error"]["type"] == "overloaded_error"
