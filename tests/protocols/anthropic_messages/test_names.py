"""Anthropic words the core's refusals with its own names: `max_tokens`, `thinking`,
`stop_sequences`; Model Studio's own thinking messages stay verbatim, as its Anthropic
endpoint answers them (BEHAVIOUR.md)."""

from typing import Any

from openscope.backends.base import BackendFeatures
from openscope.backends.scripted import ScriptedBackend
from openscope.core.catalog import default_catalog
from openscope.core.rules import Field, Refusal, Wording
from openscope.protocols.anthropic_messages.encode import error_body
from openscope.protocols.anthropic_messages.names import wire_name
from tests.conftest import AppFactory

URL = "/apps/anthropic/v1/messages"
THINK = {"type": "enabled", "budget_tokens": 1024}


def refused(
    scripted_client: AppFactory, backend: ScriptedBackend | None = None, **fields: Any
) -> str:
    body = {
        "model": "qwen-plus",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "hi"}],
        **fields,
    }
    response = scripted_client(backend).post(URL, json=body)
    assert response.status_code == 400, response.text
    answer = response.json()
    assert answer["type"] == "error" and answer["error"]["type"] == "invalid_request_error"
    return str(answer["error"]["message"])


def test_every_field_has_an_anthropic_name() -> None:
    assert all(wire_name(field) for field in Field)


def test_model_studio_s_thinking_messages_stay_verbatim(scripted_client: AppFactory) -> None:
    message = refused(scripted_client, model="smollm2-135m-instruct", thinking=THINK)
    assert message == "The model smollm2-135m-instruct does not support enable_thinking."


def test_the_answer_budget_is_max_tokens(scripted_client: AppFactory) -> None:
    limit = default_catalog()["qwen-plus"].max_output_tokens
    message = refused(scripted_client, max_tokens=limit + 1)
    assert message == f"Range of max_tokens should be [1, {limit}]"


def test_a_backend_refusal_names_the_anthropic_parameter(scripted_client: AppFactory) -> None:
    backend = ScriptedBackend(features=BackendFeatures())
    message = refused(scripted_client, backend, thinking=THINK)
    assert message == (
        "The parameter thinking is not supported yet by the backend serving model qwen-plus "
        "on this server."
    )


def test_model_studio_s_wording_is_not_reworded() -> None:
    only = Refusal(Wording.THINKING_REQUIRED, Field.THINKING, model="qwq-plus")
    assert error_body(only, "r")["error"]["message"] == (
        "The value of the enable_thinking parameter is restricted to True."
    )
    stops = Refusal(Wording.STOP_TOO_LONG, Field.STOP, limit=256)
    assert error_body(stops, "r")["error"]["message"] == (
        "A stop sequence must not exceed 256 characters."
    )
