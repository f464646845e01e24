"""Responses words our own refusals with its own names: `max_output_tokens`, `input`,
`reasoning`; Model Studio's own thinking messages stay verbatim, as its Responses endpoint
answers them (BEHAVIOUR.md)."""

from typing import Any

from openscope.backends.base import BackendFeatures
from openscope.backends.scripted import ScriptedBackend
from openscope.core.catalog import default_catalog
from openscope.core.rules import Field, Refusal, Wording
from openscope.protocols.openai_responses.encode import error_body
from openscope.protocols.openai_responses.names import wire_name
from tests.conftest import AppFactory

URL = "/compatible-mode/v1/responses"


def refused(
    scripted_client: AppFactory, backend: ScriptedBackend | None = None, **fields: Any
) -> str:
    body = {"model": "qwen-plus", "input": "hi", **fields}
    response = scripted_client(backend).post(URL, json=body)
    assert response.status_code == 400, response.text
    answer = response.json()
    assert set(answer) == {"code", "message", "request_id"}
    return str(answer["message"])


def test_every_field_has_a_responses_name() -> None:
    assert all(wire_name(field) for field in Field)


def test_the_answer_budget_is_max_output_tokens(scripted_client: AppFactory) -> None:
    limit = default_catalog()["qwen-plus"].max_output_tokens
    message = refused(scripted_client, max_output_tokens=limit + 1)
    assert message == f"Range of max_output_tokens should be [1, {limit}]"


def test_model_studio_s_thinking_messages_stay_verbatim(scripted_client: AppFactory) -> None:
    message = refused(scripted_client, model="smollm2-135m-instruct", reasoning={"effort": "high"})
    assert message == "The model smollm2-135m-instruct does not support enable_thinking."


def test_a_backend_refusal_names_the_responses_parameter(scripted_client: AppFactory) -> None:
    backend = ScriptedBackend(features=BackendFeatures())
    message = refused(scripted_client, backend, reasoning={"effort": "high"})
    assert message == (
        "The parameter reasoning is not supported yet by the backend serving model qwen-plus "
        "on this server."
    )


def test_reworded_where_the_chat_wording_reads_wrong() -> None:
    only = Refusal(Wording.THINKING_REQUIRED, Field.THINKING, model="qwq-plus")
    assert error_body(only, "r")["message"] == (
        "The value of the enable_thinking parameter is restricted to True."
    )
    many = Refusal(Wording.TOO_MANY_MESSAGES, Field.MESSAGES, limit=4096)
    assert error_body(many, "r")["message"] == "The number of items in input must not exceed 4096."
    json_mode = Refusal(Wording.JSON_WHILE_THINKING, Field.RESPONSE_FORMAT)
    assert error_body(json_mode, "r")["message"] == (
        "Json mode response is not supported when enable_thinking is true"
    )
