"""Model Studio's 429s from the admit stage, exactly, on all three APIs: the bodies, the
retry and rate-limit headers, and what the official SDKs make of them."""

from __future__ import annotations

import time

import anthropic
import openai
import pytest
from fastapi.testclient import TestClient

from openscope.backends.scripted import ScriptedBackend
from tests.conftest import AppFactory

ADMIN_KEY = "sk-admin-test"
RPM_MESSAGE = "Requests rate limit exceeded, please try again later."
TPM_MESSAGE = "You exceeded your current quota, please check your plan and billing details."
BURST_MESSAGE = (
    "Request rate increased too quickly. To ensure system stability, please adjust your "
    "client logic to scale requests more smoothly over time."
)
CHAT = "/compatible-mode/v1/chat/completions"
RESPONSES = "/compatible-mode/v1/responses"
MESSAGES = "/apps/anthropic/v1/messages"


def key_with(client: TestClient, **limits: object) -> str:
    response = client.post(
        "/admin/v1/keys",
        json={"name": "limited", "limits": {"qwen-plus": limits}},
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
    )
    assert response.status_code == 200, response.text
    return str(response.json()["value"])


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


CHAT_BODY = {"model": "qwen-plus", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def client(scripted_client: AppFactory) -> TestClient:
    return scripted_client(platform={"admin_keys": [ADMIN_KEY]})


def test_chat_over_rpm_is_limit_requests(client: TestClient) -> None:
    key = key_with(client, rpm=1)
    first = client.post(CHAT, json=CHAT_BODY, headers=bearer(key))
    assert first.status_code == 200
    assert first.headers["x-ratelimit-limit-requests"] == "1"
    assert first.headers["x-ratelimit-remaining-requests"] == "0"
    assert first.headers["x-ratelimit-reset-requests"].endswith("s")
    refused = client.post(CHAT, json=CHAT_BODY, headers=bearer(key))
    assert refused.status_code == 429
    body = refused.json()
    assert body == {
        "error": {
            "message": RPM_MESSAGE,
            "type": "limit_requests",
            "param": None,
            "code": "limit_requests",
        },
        "request_id": refused.headers["x-request-id"],
    }
    retry_ms = int(refused.headers["retry-after-ms"])
    assert 55_000 < retry_ms <= 60_000
    assert refused.headers["retry-after"] == str(-(-retry_ms // 1000))
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"
    assert "x-should-retry" not in refused.headers


def test_chat_over_tpm_is_insufficient_quota(client: TestClient) -> None:
    key = key_with(client, tpm=50)
    assert client.post(CHAT, json=CHAT_BODY, headers=bearer(key)).status_code == 200
    refused = client.post(CHAT, json=CHAT_BODY, headers=bearer(key))
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert (error["code"], error["type"], error["message"]) == (
        "insufficient_quota",
        "insufficient_quota",
        TPM_MESSAGE,
    )
    assert refused.headers["x-ratelimit-limit-tokens"] == "50"
    assert int(refused.headers["retry-after-ms"]) > 0


def test_settled_tokens_are_what_the_call_used(client: TestClient) -> None:
    # 4096 tokens are reserved for a call without max_tokens; the echo uses a handful, and
    # the refund lets the next call in at once.
    key = key_with(client, tpm=60_000, tps=5_000)
    for _ in range(3):
        response = client.post(CHAT, json=CHAT_BODY, headers=bearer(key))
        assert response.status_code == 200, response.text
    assert int(response.headers["x-ratelimit-remaining-tokens"]) > 60_000 - 4_200


def test_responses_over_rpm_uses_the_flat_shape(client: TestClient) -> None:
    key = key_with(client, rpm=1)
    body = {"model": "qwen-plus", "input": "hi"}
    assert client.post(RESPONSES, json=body, headers=bearer(key)).status_code == 200
    refused = client.post(RESPONSES, json=body, headers=bearer(key))
    assert refused.status_code == 429
    assert refused.json() == {
        "code": "limit_requests",
        "message": RPM_MESSAGE,
        "request_id": refused.headers["x-request-id"],
    }
    assert "retry-after-ms" in refused.headers
    assert "x-ratelimit-limit-requests" in refused.headers


def test_anthropic_over_rpm_is_rate_limit_error(client: TestClient) -> None:
    key = key_with(client, rpm=1)
    body = {**CHAT_BODY, "max_tokens": 16}
    first = client.post(MESSAGES, json=body, headers=bearer(key))
    assert first.status_code == 200
    assert first.headers["anthropic-ratelimit-requests-limit"] == "1"
    assert first.headers["anthropic-ratelimit-requests-remaining"] == "0"
    assert first.headers["anthropic-ratelimit-requests-reset"].endswith("Z")
    assert "x-ratelimit-limit-requests" not in first.headers
    refused = client.post(MESSAGES, json=body, headers=bearer(key))
    assert refused.status_code == 429
    payload = refused.json()
    assert payload["type"] == "error"
    assert payload["error"] == {"type": "rate_limit_error", "message": RPM_MESSAGE}
    assert int(refused.headers["retry-after"]) >= 55


def test_streams_carry_the_headers_too(client: TestClient) -> None:
    key = key_with(client, rpm=100)
    with client.stream("POST", CHAT, json={**CHAT_BODY, "stream": True}, headers=bearer(key)) as r:
        assert r.status_code == 200
        assert r.headers["x-ratelimit-limit-requests"] == "100"
        assert any(line.startswith("data: [DONE]") for line in r.iter_lines())


def test_too_many_in_flight_is_limit_burst_rate(scripted_client: AppFactory) -> None:
    client = scripted_client(
        backend=ScriptedBackend(delay=0.2), platform={"admin_keys": [ADMIN_KEY]}
    )
    key = key_with(client, max_concurrent=1)
    stream = {**CHAT_BODY, "stream": True, "messages": [{"role": "user", "content": "a b c d"}]}
    with client.stream("POST", CHAT, json=stream, headers=bearer(key)) as held:
        assert held.status_code == 200
        lines = held.iter_lines()
        next(lines)
        refused = client.post(CHAT, json=CHAT_BODY, headers=bearer(key))
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "limit_burst_rate"
        assert refused.json()["error"]["message"] == BURST_MESSAGE
        for _ in lines:
            pass
    assert client.post(CHAT, json=CHAT_BODY, headers=bearer(key)).status_code == 200


def test_unlimited_models_get_no_rate_headers(client: TestClient) -> None:
    body = {**CHAT_BODY, "model": "smollm2-135m-instruct"}
    response = client.post(CHAT, json=body)
    assert response.status_code == 200
    assert "x-ratelimit-limit-requests" not in response.headers


def test_catalogue_defaults_apply_to_catalogue_names(client: TestClient) -> None:
    response = client.post(CHAT, json=CHAT_BODY)
    assert response.headers["x-ratelimit-limit-requests"] == "600"
    assert response.headers["x-ratelimit-limit-tokens"] == "1000000"


def test_settings_override_the_catalogue(scripted_client: AppFactory) -> None:
    client = scripted_client(platform={"limits": {"qwen-plus": {"rpm": 5}}})
    response = client.post(CHAT, json=CHAT_BODY)
    assert response.headers["x-ratelimit-limit-requests"] == "5"
    assert response.headers["x-ratelimit-limit-tokens"] == "1000000"


def openai_client(client: TestClient, key: str, retries: int) -> openai.OpenAI:
    return openai.OpenAI(
        base_url="http://testserver/compatible-mode/v1",
        api_key=key,
        http_client=client,
        max_retries=retries,
    )


def anthropic_client(client: TestClient, key: str, retries: int) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url="http://testserver/apps/anthropic",
        api_key=key,
        http_client=client,
        max_retries=retries,
        # over the TestClient's own Authorization header, which the key would lose to
        default_headers={"Authorization": f"Bearer {key}"},
    )


def test_the_openai_sdk_raises_rate_limit_error(client: TestClient) -> None:
    key = key_with(client, rpm=1)
    sdk = openai_client(client, key, 0)
    sdk.chat.completions.create(**CHAT_BODY)  # type: ignore[call-overload]
    with pytest.raises(openai.RateLimitError) as raised:
        sdk.chat.completions.create(**CHAT_BODY)  # type: ignore[call-overload]
    assert raised.value.status_code == 429
    assert raised.value.code == "limit_requests"


def test_the_openai_sdk_retries_after_retry_after_ms(client: TestClient) -> None:
    key = key_with(client, rpm=60)  # RPS 1: the second call in a second waits about 1 s
    sdk = openai_client(client, key, 2)
    sdk.chat.completions.create(**CHAT_BODY)  # type: ignore[call-overload]
    started = time.monotonic()
    answer = sdk.chat.completions.create(**CHAT_BODY)  # type: ignore[call-overload]
    waited = time.monotonic() - started
    assert answer.choices[0].message.content == "hi"
    assert 0.5 < waited < 3.0


def test_the_anthropic_sdk_raises_rate_limit_error(client: TestClient) -> None:
    key = key_with(client, rpm=1)
    sdk = anthropic_client(client, key, 0)
    body = {"model": "qwen-plus", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}
    sdk.messages.create(**body)  # type: ignore[arg-type]
    with pytest.raises(anthropic.RateLimitError) as raised:
        sdk.messages.create(**body)  # type: ignore[arg-type]
    assert raised.value.status_code == 429


def test_a_spent_daily_budget_says_do_not_retry(client: TestClient) -> None:
    key = key_with(client, tpd=2)  # the first call uses 3
    assert client.post(CHAT, json=CHAT_BODY, headers=bearer(key)).status_code == 200
    refused = client.post(CHAT, json=CHAT_BODY, headers=bearer(key))
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "insufficient_quota"
    assert refused.headers["x-should-retry"] == "false"
    assert int(refused.headers["retry-after"]) > 120


def test_the_sdks_do_not_retry_a_spent_budget(client: TestClient) -> None:
    key = key_with(client, tpd=2)  # the first call uses 3
    sent: list[str] = []
    client.event_hooks["request"].append(lambda request: sent.append(request.url.path))
    sdk = openai_client(client, key, 2)
    sdk.chat.completions.create(**CHAT_BODY)  # type: ignore[call-overload]
    with pytest.raises(openai.RateLimitError):
        sdk.chat.completions.create(**CHAT_BODY)  # type: ignore[call-overload]
    assert sent.count("/compatible-mode/v1/chat/completions") == 2  # no retry of the second
    claude = anthropic_client(client, key, 2)
    body = {"model": "qwen-plus", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}
    with pytest.raises(anthropic.RateLimitError):
        claude.messages.create(**body)  # type: ignore[arg-type]
    assert sent.count("/apps/anthropic/v1/messages") == 1


def test_a_rate_limit_is_retried_by_the_anthropic_sdk(client: TestClient) -> None:
    key = key_with(client, rpm=60)
    sent: list[str] = []
    client.event_hooks["request"].append(lambda request: sent.append(request.url.path))
    claude = anthropic_client(client, key, 2)
    body = {"model": "qwen-plus", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}
    claude.messages.create(**body)  # type: ignore[arg-type]
    started = time.monotonic()
    claude.messages.create(**body)  # type: ignore[arg-type]
    assert 0.5 < time.monotonic() - started < 3.0
    assert sent.count("/apps/anthropic/v1/messages") == 3  # one refused, then retried
