"""The Chat Completions routes over the scripted backend: wire shapes, errors, auth."""

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from openscope.backends.base import BackendFeatures
from openscope.backends.scripted import ScriptedBackend, text_events
from openscope.core.errors import InternalError
from openscope.core.events import Event
from openscope.core.request import GenerateRequest
from tests.conftest import AppFactory

URL = "/compatible-mode/v1/chat/completions"


def chat(**fields: Any) -> dict[str, Any]:
    return {
        "model": "qwen-plus",
        "messages": [{"role": "user", "content": "hello there"}],
        **fields,
    }


def sse_data(client: TestClient, payload: dict[str, Any]) -> list[str]:
    with client.stream("POST", URL, json=payload) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        text = "".join(response.iter_text())
    return [frame.removeprefix("data: ") for frame in text.strip().split("\n\n")]


def test_non_stream_answer(scripted_client: AppFactory) -> None:
    response = scripted_client().post(URL, json=chat())
    assert response.status_code == 200
    body = response.json()
    assert body["id"].startswith("chatcmpl-")
    assert body["object"] == "chat.completion"
    assert body["model"] == "qwen-plus"
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "hello there"}
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["usage"]["prompt_tokens_details"] == {"cached_tokens": 0}
    assert response.headers["x-request-id"]


def test_stream_with_usage(scripted_client: AppFactory) -> None:
    frames = sse_data(scripted_client(), chat(stream=True, stream_options={"include_usage": True}))
    assert frames[-1] == "[DONE]"
    chunks = [json.loads(f) for f in frames[:-1]]
    assert chunks[0]["choices"][0]["delta"] == {"content": "", "role": "assistant"}
    finals = [c for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]]
    assert len(finals) == 1 and finals[0]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["completion_tokens"] == 2
    text = "".join(c["choices"][0]["delta"]["content"] for c in chunks if c["choices"])
    assert text == "hello there"


def test_the_v1_alias_serves_the_same_api(scripted_client: AppFactory) -> None:
    response = scripted_client().post("/v1/chat/completions", json=chat())
    assert response.status_code == 200


def test_models_list_and_retrieve(scripted_client: AppFactory) -> None:
    client = scripted_client()
    listed = client.get("/compatible-mode/v1/models").json()
    assert listed["object"] == "list"
    ids = {m["id"] for m in listed["data"]}
    assert ids == {"smollm2-135m-instruct", "qwen-plus"}
    model = client.get("/v1/models/qwen-plus").json()
    assert model["object"] == "model" and model["id"] == "qwen-plus"
    missing = client.get("/v1/models/nope")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "model_not_found"


def error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["request_id"] == response.headers["x-request-id"]
    assert set(body["error"]) == {"message", "type", "param", "code"}
    return body["error"]


def test_missing_and_wrong_keys(scripted_client: AppFactory) -> None:
    client = scripted_client()
    missing = client.post(URL, json=chat(), headers={"Authorization": ""})
    assert error(missing, 401) == {
        "message": "No API-key provided.",
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_api_key",
    }
    wrong = client.post(URL, json=chat(), headers={"Authorization": "Bearer sk-wrong"})
    assert error(wrong, 401)["message"] == "Incorrect API key provided. "
    by_header = client.post(URL, json=chat(), headers={"Authorization": "", "x-api-key": "sk-test"})
    assert by_header.status_code == 200


def test_unknown_and_unrouted_models(scripted_client: AppFactory) -> None:
    client = scripted_client()
    unknown = error(client.post(URL, json=chat(model="gpt-9")), 404)
    assert unknown["code"] == "model_not_found"
    assert unknown["message"] == "The model gpt-9 does not exist or you do not have access to it."
    unrouted = error(client.post(URL, json=chat(model="qwen-max")), 404)
    assert unrouted["message"] == (
        "The model qwen-max does not exist or you do not have access to it."
    )


def test_validation_error_shape(scripted_client: AppFactory) -> None:
    body = error(scripted_client().post(URL, json=chat(temperature=2)), 400)
    assert body == {
        "message": "Temperature should be in [0.0, 2.0)",
        "type": "invalid_request_error",
        "param": "temperature",
        "code": "invalid_parameter_error",
    }


def test_a_misplaced_partial_message_is_a_400(scripted_client: AppFactory) -> None:
    prefix = {"role": "assistant", "content": "Once upon", "partial": True}
    messages = [{"role": "user", "content": "A story?"}, prefix, {"role": "user", "content": "Go"}]
    body = error(scripted_client().post(URL, json=chat(messages=messages)), 400)
    assert body["code"] == "invalid_parameter_error"
    assert body["param"] == "messages"
    assert body["message"].startswith("Invalid 'messages[1].partial': only the last message")


def test_malformed_json(scripted_client: AppFactory) -> None:
    response = scripted_client().post(
        URL, content=b'{"model": ', headers={"Content-Type": "application/json"}
    )
    assert error(response, 400)["code"] == "invalid_parameter_error"


def test_oversized_body(scripted_client: AppFactory) -> None:
    client = scripted_client(max_body_bytes=1000)
    response = client.post(URL, json=chat(padding="x" * 2000))
    assert error(response, 413)["code"] == "request_too_large"


def test_unknown_path_and_method(scripted_client: AppFactory) -> None:
    client = scripted_client()
    assert error(client.get("/compatible-mode/v1/nothing"), 404)["code"] == "not_found"
    assert error(client.get(URL), 405)["code"] == "method_not_allowed"


def test_health_needs_no_key(scripted_client: AppFactory) -> None:
    response = scripted_client().get("/health", headers={"Authorization": ""})
    assert response.status_code == 200 and response.json() == {"status": "ok"}


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"tools": [{"type": "function", "function": {"name": "f"}}]}, "tools"),
        ({"enable_search": True}, "enable_search"),
        # enable_code_interpreter: test_code_interpreter_routes.py (it needs thinking)
        # qwen-plus cannot speak: the catalogue would refuse before the backend is asked
        ({"model": "qwen3-omni-flash", "modalities": ["text", "audio"]}, "modalities"),
        (
            {"response_format": {"type": "json_schema", "json_schema": {"schema": {}}}},
            "response_format",
        ),
        ({"enable_thinking": True}, "enable_thinking"),
    ],
)
def test_features_the_backend_lacks_are_refused_by_name(
    scripted_client: AppFactory, fields: dict[str, Any], param: str
) -> None:
    backend = ScriptedBackend(features=BackendFeatures(logprobs=True, multiple_choices=True))
    aliases = {name: "smollm2-135m-instruct" for name in ("qwen-plus", "qwen3-omni-flash")}
    client = scripted_client(backend, aliases=aliases)
    body = error(client.post(URL, json=chat(**fields)), 400)
    assert body["param"] == param
    assert param in body["message"]
    assert "not supported yet by the backend" in body["message"]


def test_failure_mid_stream_ends_with_one_error_frame(scripted_client: AppFactory) -> None:
    def script(request: GenerateRequest, choice: int) -> list[Event]:
        events = text_events(["partial"])
        return events[:2]

    class Failing(ScriptedBackend):
        async def generate(self, request: GenerateRequest, model: str):  # type: ignore[override]
            async for event in super().generate(request, model):
                yield event
                if getattr(event, "text", None) == "partial":
                    raise InternalError("An internal error has occured, please try again later.")

    frames = sse_data(scripted_client(Failing(script)), chat(stream=True))
    assert frames[-1] != "[DONE]"
    last = json.loads(frames[-1])
    assert last["error"]["code"] == "internal_error"
    assert sum(1 for f in frames if '"error"' in f) == 1


def test_unexpected_exception_leaks_no_traceback(scripted_client: AppFactory) -> None:
    def script(request: GenerateRequest, choice: int) -> list[Event]:
        raise RuntimeError("secret internals")

    response = scripted_client(ScriptedBackend(script)).post(URL, json=chat())
    body = error(response, 500)
    assert body["code"] == "internal_error"
    assert "secret" not in response.text and "Traceback" not in response.text


def test_n_choices_and_defaults_reach_the_backend(scripted_client: AppFactory) -> None:
    backend = ScriptedBackend()
    response = scripted_client(backend).post(URL, json=chat(n=2))
    assert [c["index"] for c in response.json()["choices"]] == [0, 1]
    request, model = backend.requests[-1]
    assert model == "smollm2-135m-instruct"
    # qwen-plus's documented default top_k applies to the alias
    assert request.sampling.top_k == 20
    assert request.sampling.n == 2


def test_an_overloaded_backend_answers_503_with_retry_after(scripted_client: AppFactory) -> None:
    from openscope.core.errors import Overloaded

    def script(request: GenerateRequest, choice: int) -> list[Event]:
        raise Overloaded("Model is unavailable, please try again later.", retry_after=1.0)

    response = scripted_client(ScriptedBackend(script)).post(URL, json=chat())
    assert error(response, 503)["code"] == "model_unavailable"
    assert response.headers["retry-after"] == "1"


def test_cache_markers_a_backend_cannot_honour_are_refused(scripted_client: AppFactory) -> None:
    backend = ScriptedBackend(features=BackendFeatures(tools=True))
    marked = {
        "role": "user",
        "content": [{"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}}],
    }
    body = error(scripted_client(backend).post(URL, json=chat(messages=[marked])), 400)
    assert body["param"] == "cache_control"
    assert "cache_control" in body["message"]
    assert not backend.requests


def test_partial_in_thinking_mode_is_refused_in_chats_words(scripted_client: AppFactory) -> None:
    prefix = {"role": "assistant", "content": "def fib(n):", "partial": True}
    messages = [{"role": "user", "content": "hi"}, prefix]
    response = scripted_client().post(URL, json=chat(messages=messages, enable_thinking=True))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["message"] == (
        "Partial mode is not supported in thinking mode: set enable_thinking to false."
    )
    assert error["param"] == "enable_thinking"
