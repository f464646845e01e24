"""Chat words the core's refusals with its own parameter names, which are the names in
Model Studio's compatible-mode messages."""

from typing import Any

import pytest

from openscope.backends.base import BackendFeatures
from openscope.backends.scripted import ScriptedBackend
from openscope.core.catalog import default_catalog
from openscope.core.rules import Field, Refusal, Wording
from openscope.protocols.openai_chat.encode import error_body
from openscope.protocols.openai_chat.names import wire_name
from tests.conftest import AppFactory

URL = "/compatible-mode/v1/chat/completions"


def refused(
    scripted_client: AppFactory, backend: ScriptedBackend | None = None, **fields: Any
) -> dict[str, Any]:
    body = {"model": "qwen-plus", "messages": [{"role": "user", "content": "hi"}], **fields}
    response = scripted_client(backend).post(URL, json=body)
    assert response.status_code == 400, response.text
    error: dict[str, Any] = response.json()["error"]
    return error


@pytest.mark.parametrize(
    ("refusal", "message", "param"),
    [
        (
            Refusal(Wording.MODEL_LACKS, Field.THINKING, model="qwen-math-plus"),
            "The model qwen-math-plus does not support enable_thinking.",
            "enable_thinking",
        ),
        (
            Refusal(Wording.THINKING_REQUIRED, Field.THINKING, model="qwq-plus"),
            "The value of the enable_thinking parameter is restricted to True.",
            "enable_thinking",
        ),
        (
            Refusal(Wording.JSON_WHILE_THINKING, Field.RESPONSE_FORMAT),
            "Json mode response is not supported when enable_thinking is true",
            "response_format",
        ),
        (
            Refusal(Wording.INCLUSIVE_RANGE, Field.MAX_OUTPUT_TOKENS, low=1, high=8192),
            "Range of max_tokens should be [1, 8192]",
            "max_tokens",
        ),
        (
            Refusal(Wording.MODEL_LACKS_SEARCH, Field.SEARCH),
            "This model does not support enable_search.",
            "enable_search",
        ),
    ],
)
def test_model_studio_wording(refusal: Refusal, message: str, param: str) -> None:
    error = error_body(refusal, "req_1")["error"]
    assert (error["message"], error["param"]) == (message, param)


def test_every_field_has_a_chat_name() -> None:
    assert all(wire_name(field) for field in Field)


def test_a_thinking_refusal_names_enable_thinking(scripted_client: AppFactory) -> None:
    error = refused(scripted_client, model="smollm2-135m-instruct", enable_thinking=True)
    assert error["message"] == "The model smollm2-135m-instruct does not support enable_thinking."
    assert error["param"] == "enable_thinking"


def test_the_answer_budget_is_max_tokens(scripted_client: AppFactory) -> None:
    limit = default_catalog()["qwen-plus"].max_output_tokens
    error = refused(scripted_client, max_tokens=limit + 1)
    assert error["message"] == f"Range of max_tokens should be [1, {limit}]"
    assert error["param"] == "max_tokens"


def test_a_backend_refusal_names_the_chat_parameter(scripted_client: AppFactory) -> None:
    backend = ScriptedBackend(features=BackendFeatures())
    error = refused(scripted_client, backend, enable_thinking=True)
    assert error["param"] == "enable_thinking"
    assert error["message"] == (
        "The parameter enable_thinking is not supported yet by the backend serving model "
        "qwen-plus on this server."
    )
