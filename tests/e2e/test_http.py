"""Raw HTTP against the real server: request ids, error bodies, body parsing and limits."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import MODEL, Server

pytestmark = pytest.mark.e2e

URL = "/compatible-mode/v1/chat/completions"
DEFAULT_MAX_BODY = 16 * 1024 * 1024


def chat(**fields: Any) -> dict[str, Any]:
    return {
        "model": MODEL,
        "messages": [{"role": "user", "content": "Say hi."}],
        "max_tokens": 4,
        **fields,
    }


def error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert set(body) == {"error", "request_id"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert body["request_id"] == response.headers["x-request-id"]
    return body["error"]


def test_every_response_has_a_request_id(server: Server, http: httpx.Client) -> None:
    responses = [
        http.get("/health"),
        http.get("/compatible-mode/v1/models"),
        http.get("/v1/models/qwen-plus"),
        http.post(URL, json=chat()),
        http.post(URL, json=chat(temperature=5)),
        http.post(URL, json=chat(), headers={"Authorization": "Bearer sk-wrong"}),
        http.get("/compatible-mode/v1/nothing-here"),
    ]
    with http.stream("POST", URL, json=chat(stream=True)) as streamed:
        streamed.read()
        responses.append(streamed)
    ids = [r.headers.get("x-request-id") for r in responses]
    assert all(ids), ids
    assert len(set(ids)) == len(ids)


def test_error_bodies_carry_the_request_id(http: httpx.Client) -> None:
    assert error(http.post(URL, json=chat(top_p=0)), 400)["param"] == "top_p"
    assert error(http.post(URL, json=chat(model="gpt-9")), 404)["code"] == "model_not_found"
    unauthorized = http.post(URL, json=chat(), headers={"Authorization": "Bearer nope"})
    assert error(unauthorized, 401)["code"] == "invalid_api_key"


def test_malformed_json(http: httpx.Client) -> None:
    response = http.post(
        URL,
        content=b'{"model": "qwen-plus", "messages": [',
        headers={"Content-Type": "application/json"},
    )
    body = error(response, 400)
    assert body["code"] == "invalid_parameter_error"
    assert body["type"] == "invalid_request_error"


def test_body_that_is_not_an_object(http: httpx.Client) -> None:
    response = http.post(URL, content=b"[1, 2]", headers={"Content-Type": "application/json"})
    assert error(response, 400)["code"] == "invalid_parameter_error"


def test_empty_body(http: httpx.Client) -> None:
    response = http.post(URL, content=b"", headers={"Content-Type": "application/json"})
    assert error(response, 400)["code"] == "invalid_parameter_error"


def test_wrong_parameter_type_names_the_parameter(http: httpx.Client) -> None:
    body = error(http.post(URL, json=chat(max_tokens="many")), 400)
    assert body["code"] == "invalid_parameter_error"
    assert body["param"] == "max_tokens"


def test_missing_model_and_messages(http: httpx.Client) -> None:
    missing_messages = error(http.post(URL, json={"model": MODEL}), 400)
    assert missing_messages["param"] == "messages"
    missing_model = error(
        http.post(URL, json={"messages": [{"role": "user", "content": "hi"}]}), 400
    )
    assert missing_model["param"] == "model"


def test_body_over_the_limit(http: httpx.Client) -> None:
    padding = "x" * (DEFAULT_MAX_BODY + 1024 * 1024)
    payload = b'{"model": "%s", "padding": "%s"}' % (MODEL.encode(), padding.encode())
    assert len(payload) > DEFAULT_MAX_BODY
    try:
        response = http.post(URL, content=payload, headers={"Content-Type": "application/json"})
    except httpx.WriteError:
        pytest.fail("the server hung up without answering 413")
    assert error(response, 413)["code"] == "request_too_large"


def test_chunked_body_over_the_limit(http: httpx.Client) -> None:
    """Without a Content-Length the server counts as it reads."""

    def body() -> Iterator[bytes]:
        yield b'{"model": "%s", "padding": "' % MODEL.encode()
        block = b"x" * (1024 * 1024)
        for _ in range(17):
            yield block
        yield b'"}'

    try:
        response = http.post(URL, content=body(), headers={"Content-Type": "application/json"})
    except httpx.WriteError:
        pytest.fail("the server hung up without answering 413")
    assert error(response, 413)["code"] == "request_too_large"


def test_unknown_path_and_method(http: httpx.Client) -> None:
    assert error(http.get("/compatible-mode/v1/nothing"), 404)["code"] == "not_found"
    assert error(http.get(URL), 405)["code"] == "method_not_allowed"


def test_health_needs_no_key(server: Server) -> None:
    response = httpx.get(f"{server.root_url}/health", timeout=10)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_models_need_a_key(server: Server) -> None:
    response = httpx.get(f"{server.base_url}/models", timeout=10)
    assert error(response, 401)["message"] == "No API-key provided."


def test_x_api_key_header_is_accepted(server: Server) -> None:
    response = httpx.post(
        f"{server.base_url}/chat/completions",
        json=chat(),
        headers={"x-api-key": server.api_key},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["role"] == "assistant"


def test_stream_is_server_sent_events(http: httpx.Client) -> None:
    with http.stream("POST", URL, json=chat(stream=True)) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        text = response.read().decode()
    frames = text.strip("\n").split("\n\n")
    assert frames[-1] == "data: [DONE]"
    assert all(f.startswith("data: {") for f in frames[:-1])


def test_stream_validation_error_is_a_plain_error_response(http: httpx.Client) -> None:
    """A streaming request that fails before the first byte gets the normal status/body."""
    response = http.post(URL, json=chat(stream=True, temperature=2.5))
    assert error(response, 400)["message"] == "Temperature should be in [0.0, 2.0)"


def test_stream_failing_before_the_first_byte_is_a_plain_error(http: httpx.Client) -> None:
    """A prompt longer than the context is found by the backend, before any event."""
    words = " ".join(["weather"] * 9000)
    response = http.post(URL, json=chat(stream=True, messages=[{"role": "user", "content": words}]))
    body = error(response, 400)
    assert body["code"] == "invalid_parameter_error"
    assert body["message"].startswith("Range of input length should be [1, ")
