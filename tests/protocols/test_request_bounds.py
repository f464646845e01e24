"""The request bounds every API shares, through each API's own routes and error shape:
bodies nested too deeply (refused by the one wire parser) and the size limits of
core/rules/sizes (refused by the engine's rules)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import AppFactory

TOO_DEEP = "The request body is nested too deeply: at most 64 levels."


@dataclass(frozen=True)
class Api:
    name: str
    url: str
    body: Callable[..., dict[str, Any]]
    tool: Callable[[Any], dict[str, Any]]  # a function tool with this parameters schema

    def error(self, response: Any) -> str:
        """The message of a 400 in this API's own error shape."""
        assert response.status_code == 400, response.text
        body = response.json()
        if self.name == "chat":
            assert body["error"]["code"] == "invalid_parameter_error"
            return str(body["error"]["message"])
        if self.name == "responses":
            assert set(body) == {"code", "message", "request_id"}
            assert body["code"] == "invalid_parameter_error"
            return str(body["message"])
        assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error"
        return str(body["error"]["message"])


CHAT = Api(
    "chat",
    "/compatible-mode/v1/chat/completions",
    lambda **f: {"model": "qwen-plus", "messages": [{"role": "user", "content": "hi"}], **f},
    lambda schema: {"type": "function", "function": {"name": "f", "parameters": schema}},
)
RESPONSES = Api(
    "responses",
    "/compatible-mode/v1/responses",
    lambda **f: {"model": "qwen-plus", "input": "hi", **f},
    lambda schema: {"type": "function", "name": "f", "parameters": schema},
)
ANTHROPIC = Api(
    "anthropic",
    "/apps/anthropic/v1/messages",
    lambda **f: {
        "model": "qwen-plus",
        "max_tokens": 16,
        "messages": [{"role": "user", "content": "hi"}],
        **f,
    },
    lambda schema: {"name": "f", "input_schema": schema},
)
APIS = pytest.mark.parametrize("api", [CHAT, RESPONSES, ANTHROPIC], ids=lambda a: a.name)

DEEP = "__deep__"


def deep_object(levels: int) -> str:
    """JSON text of `levels` objects inside each other (the stdlib encoder would recurse)."""
    return '{"a": ' * (levels - 1) + "{}" + "}" * (levels - 1)


def post(client: TestClient, url: str, body: dict[str, Any], levels: int) -> Any:
    """POST `body` with the string `DEEP` in it replaced by an object `levels` deep."""
    text = json.dumps(body).replace(json.dumps(DEEP), deep_object(levels))
    return client.post(url, content=text, headers={"Content-Type": "application/json"})


# 100 is within orjson's own limit (1024), so our walk refuses it; 1,500 is past it.
@APIS
@pytest.mark.parametrize("levels", [100, 1_500])
def test_a_tool_schema_nested_too_deeply(
    scripted_client: AppFactory, api: Api, levels: int
) -> None:
    body = api.body(tools=[api.tool(DEEP)])
    assert api.error(post(scripted_client(), api.url, body, levels)) == TOO_DEEP


@APIS
@pytest.mark.parametrize("levels", [100, 1_500])
def test_metadata_nested_too_deeply(scripted_client: AppFactory, api: Api, levels: int) -> None:
    # Chat has no metadata: ignored fields are still parsed, and still refused
    metadata = {"user_id": DEEP} if api is ANTHROPIC else DEEP
    body = api.body(metadata=metadata)
    assert api.error(post(scripted_client(), api.url, body, levels)) == TOO_DEEP


@APIS
def test_64_levels_are_served_and_65_refused(scripted_client: AppFactory, api: Api) -> None:
    client = scripted_client()
    body = api.body(ignored=DEEP)  # the body itself is the first level
    assert post(client, api.url, body, 63).status_code == 200
    assert api.error(post(client, api.url, body, 64)) == TOO_DEEP


@pytest.mark.parametrize("path", ["/conversations", "/conversations/conv_1"])
def test_conversation_metadata_nested_too_deeply(scripted_client: AppFactory, path: str) -> None:
    response = post(scripted_client(), "/compatible-mode/v1" + path, {"metadata": DEEP}, 1_500)
    assert RESPONSES.error(response) == TOO_DEEP


# -- size bounds (core/rules/sizes), as each API words its parameters -------------------------


def test_chat_stop_sequences(scripted_client: AppFactory) -> None:
    client = scripted_client()
    response = client.post(CHAT.url, json=CHAT.body(stop=[f"s{i}" for i in range(17)]))
    assert CHAT.error(response) == "The number of stop sequences must not exceed 16."
    assert response.json()["error"]["param"] == "stop"
    response = client.post(CHAT.url, json=CHAT.body(stop=[[7, -1]]))
    assert CHAT.error(response) == "Stop token ids must be non-negative."


def test_anthropic_stop_sequences(scripted_client: AppFactory) -> None:
    response = scripted_client().post(
        ANTHROPIC.url, json=ANTHROPIC.body(stop_sequences=["x" * 257])
    )
    assert ANTHROPIC.error(response) == "A stop sequence must not exceed 256 characters."


@APIS
def test_too_many_tools(scripted_client: AppFactory, api: Api) -> None:
    tools = [api.tool({"type": "object"}) for _ in range(129)]
    for i, tool in enumerate(tools):
        (tool["function"] if api is CHAT else tool)["name"] = f"f{i}"
    response = scripted_client().post(api.url, json=api.body(tools=tools))
    assert api.error(response) == "The number of tools must not exceed 128."


def test_chat_tool_call_arguments_nested_too_deeply(scripted_client: AppFactory) -> None:
    # Arguments are a JSON string on the wire, so the body's own depth does not see them.
    arguments = "[" * 100 + "]" * 100
    call = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": arguments}}
    messages = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": "42"},
    ]
    response = scripted_client().post(CHAT.url, json=CHAT.body(messages=messages))
    assert CHAT.error(response) == (
        "The arguments of a tool call are nested too deeply: at most 64 levels."
    )


# -- the generation body bound (core/rules/sizes.generation_body_limit) -----------------------

# smollm2-135m-instruct alone: 8,192 tokens of context.
GENERATION_BOUND = 8192 * 64 + 256 * 1024


def too_large(response: Any) -> str:
    """The message of a 413 in any API's shape."""
    assert response.status_code == 413, response.text[:300]
    body = response.json()
    error = body.get("error", body)
    return str(error["message"])


def padded(api: Api, chars: int) -> dict[str, Any]:
    return api.body(input="x" * chars) if api is RESPONSES else api.body(padding="x" * chars)


@APIS
def test_a_body_past_what_the_models_can_read_is_refused_whole(
    scripted_client: AppFactory, api: Api
) -> None:
    client = scripted_client(max_generation_body_bytes=5000)
    message = too_large(client.post(api.url, json=padded(api, 5000)))
    assert message.startswith("The request body is larger than the 5000 bytes")
    assert "longest prompt this server's models accept" in message
    # under the bound, the same kind of body is read and answered as before
    assert client.post(api.url, json=padded(api, 1000)).status_code == 200


def test_anthropic_count_tokens_has_the_same_bound(scripted_client: AppFactory) -> None:
    client = scripted_client(max_generation_body_bytes=5000)
    response = client.post("/apps/anthropic/v1/messages/count_tokens", json=padded(ANTHROPIC, 5000))
    assert too_large(response).startswith("The request body is larger than the 5000 bytes")


def test_the_bound_follows_the_served_models_context(scripted_client: AppFactory) -> None:
    client = scripted_client(aliases={})  # smollm2-135m-instruct alone
    body = {
        "model": "smollm2-135m-instruct",
        "messages": [{"role": "user", "content": "x" * GENERATION_BOUND}],
    }
    message = too_large(client.post(CHAT.url, json=body))
    assert message.startswith(f"The request body is larger than the {GENERATION_BOUND} bytes")
    # a model served by another name counts with that name's context (qwen-plus: ~1M
    # tokens, so the body bound is max_body_bytes)
    aliased = scripted_client()
    response = aliased.post(CHAT.url, json={**body, "model": "qwen-plus"})
    assert response.status_code == 200, response.text[:300]


def test_other_bodies_keep_the_body_bound(scripted_client: AppFactory) -> None:
    client = scripted_client(max_body_bytes=6000, max_generation_body_bytes=2000)

    def conversation(chars: int) -> Any:
        item = {"type": "message", "role": "user", "content": "x" * chars}
        return client.post("/compatible-mode/v1/conversations", json={"items": [item]})

    # a conversation's body is not a generation request: max_body_bytes bounds it, not the
    # generation bound (3,000 bytes pass; 7,000 are refused in the plain words)
    assert conversation(3000).status_code == 200
    message = too_large(conversation(7000))
    assert message == "The request body is larger than the 6000 bytes this server accepts."
