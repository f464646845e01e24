"""The catalogue's capabilities, enforced through each API: a served name whose catalogue
entry lacks a capability refuses requests that need it, even when the model behind the
alias (here the scripted backend, which can do everything) could serve them."""

from __future__ import annotations

from typing import Any

import pytest

from openscope.backends.scripted import ScriptedBackend
from tests.conftest import AppFactory

ALIASES = {"qwen-plus": "smollm2-135m-instruct", "qwen-math-plus": "smollm2-135m-instruct"}
USER = {"role": "user", "content": "hi"}

CHAT = (
    "/compatible-mode/v1/chat/completions",
    {"messages": [USER], "tools": [{"type": "function", "function": {"name": "f"}}]},
)
RESPONSES = (
    "/compatible-mode/v1/responses",
    {"input": "hi", "tools": [{"type": "function", "name": "f"}]},
)
ANTHROPIC = (
    "/apps/anthropic/v1/messages",
    {"max_tokens": 16, "messages": [USER], "tools": [{"name": "f", "input_schema": {}}]},
)


def message_of(body: dict[str, Any]) -> str:
    error = body.get("error", body)
    return str(error["message"])


@pytest.mark.parametrize(
    ("url", "fields"), [CHAT, RESPONSES, ANTHROPIC], ids=["chat", "responses", "anthropic"]
)
def test_an_alias_without_tools_refuses_tools(
    scripted_client: AppFactory, url: str, fields: dict[str, Any]
) -> None:
    backend = ScriptedBackend()
    client = scripted_client(backend, aliases=ALIASES)
    response = client.post(url, json={"model": "qwen-math-plus", **fields})
    assert response.status_code == 400, response.text
    assert message_of(response.json()) == "The model qwen-math-plus does not support tools."
    assert not backend.requests  # refused before the backend saw it
    served = client.post(url, json={"model": "qwen-plus", **fields})
    assert served.status_code == 200, served.text


def test_chat_names_the_parameter(scripted_client: AppFactory) -> None:
    url, fields = CHAT
    client = scripted_client(aliases=ALIASES)
    error = client.post(url, json={"model": "qwen-math-plus", **fields}).json()["error"]
    assert error["param"] == "tools"
    image = {"type": "image_url", "image_url": {"url": "https://x.test/a.png"}}
    body = {"model": "qwen-plus", "messages": [{"role": "user", "content": [image]}]}
    error = client.post(url, json=body).json()["error"]
    assert (error["message"], error["param"]) == (
        "The model qwen-plus does not support images in messages.",
        "messages",
    )


def test_responses_names_input(scripted_client: AppFactory) -> None:
    image = {"type": "input_image", "image_url": "https://x.test/a.png"}
    body = {"model": "qwen-plus", "input": [{"role": "user", "content": [image]}]}
    response = scripted_client().post("/compatible-mode/v1/responses", json=body)
    assert response.json()["message"] == "The model qwen-plus does not support images in input."
