"""Rate limits as clients see them: the headers on admitted calls, the catalogue's and the
settings' limits, and what the official SDKs make of a 429 (their exception classes, a retry
after exactly `retry-after-ms`, none after `x-should-retry: false`). Each 429's body and
headers, exactly, on each API: test_rate_limit_answers.py."""

from __future__ import annotations

import time

import anthropic
import httpx
import openai
import pytest
from fastapi.testclient import TestClient

from tests.conftest import AppFactory
from tests.server.limited_keys import ADMIN_KEY, bearer, key_with

RPM_MESSAGE = "Requests rate limit exceeded, please try again later."
CHAT = "/compatible-mode/v1/chat/completions"
MESSAGES = "/apps/anthropic/v1/messages"


CHAT_BODY = {"model": "qwen-plus", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def client(scripted_client: AppFactory) -> TestClient:
    return scripted_client(platform={"admin_keys": [ADMIN_KEY]})


def test_settled_tokens_are_what_the_call_used(client: TestClient) -> None:
    # 4096 tokens are reserved for a call without max_tokens; the echo uses a handful, and
    # the refund lets the next call in at once.
    key = key_with(client, tpm=60_000, tps=5_000)
    for _ in range(3):
        response = client.post(CHAT, json=CHAT_BODY, headers=bearer(key))
        assert response.status_code == 200, response.text
    assert int(response.headers["x-ratelimit-remaining-tokens"]) > 60_000 - 4_200


def test_streams_carry_the_headers_too(client: TestClient) -> None:
    key = key_with(client, rpm=100)
    with client.stream("POST", CHAT, json={**CHAT_BODY, "stream": True}, headers=bearer(key)) as r:
        assert r.status_code == 200
        assert r.headers["x-ratelimit-limit-requests"] == "100"
        assert any(line.startswith("data: [DONE]") for line in r.iter_lines())


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


class Exchanges:
    """Every request the server was sent (when, and its path) and every answer (when, its
    status and headers), seen through the client's event hooks."""

    def __init__(self, client: TestClient) -> None:
        self.sent: list[tuple[float, str]] = []
        self.answered: list[tuple[float, int, httpx.Headers]] = []
        client.event_hooks["request"].append(self._request)
        client.event_hooks["response"].append(self._response)

    def _request(self, request: httpx.Request) -> None:
        self.sent.append((time.monotonic(), request.url.path))

    def _response(self, response: httpx.Response) -> None:
        self.answered.append((time.monotonic(), response.status_code, response.headers))

    def paths(self) -> list[str]:
        return [path for _, path in self.sent]

    def statuses(self) -> list[int]:
        return [status for _, status, _ in self.answered]

    def retried_after(self, refusal: int) -> tuple[float, float]:
        """The `retry-after-ms` of answer `refusal` (in seconds) and how long after it the
        next request went out."""
        refused_at, _, headers = self.answered[refusal]
        return int(headers["retry-after-ms"]) / 1000, self.sent[refusal + 1][0] - refused_at


MESSAGES_BODY = {**CHAT_BODY, "max_tokens": 16}


def test_the_openai_sdk_raises_rate_limit_error(client: TestClient) -> None:
    key = key_with(client, rpm=1)
    sdk = openai_client(client, key, 0)
    sdk.chat.completions.create(**CHAT_BODY)  # type: ignore[call-overload]
    with pytest.raises(openai.RateLimitError) as raised:
        sdk.chat.completions.create(**CHAT_BODY)  # type: ignore[call-overload]
    error = raised.value
    assert (error.status_code, error.code, error.type, error.param) == (
        429,
        "limit_requests",
        "limit_requests",
        None,
    )
    assert error.body == {
        "message": RPM_MESSAGE,
        "type": "limit_requests",
        "param": None,
        "code": "limit_requests",
    }
    assert error.request_id == error.response.json()["request_id"]


# 40 RPM implies 2/3 RPS: a second call at once is told `retry-after-ms` of a little under
# 1500 and `retry-after: 2`. Left to their own backoff the SDKs would wait at most 0.5 s
# before the first retry (0.5 s, less up to 25 % jitter) and 1 s before the second, both
# refused, and give up; reading `retry-after` alone they would wait 2 s.
PATIENT_RPM = 40


def assert_waited_retry_after_ms(seen: Exchanges) -> None:
    told, waited = seen.retried_after(1)
    assert seen.answered[1][2]["retry-after"] == "2"
    assert 1.0 < told <= 1.5
    assert told <= waited < told + 0.25


def test_the_openai_sdk_retries_after_retry_after_ms(client: TestClient) -> None:
    key = key_with(client, rpm=PATIENT_RPM)
    seen = Exchanges(client)
    sdk = openai_client(client, key, 2)
    sdk.chat.completions.create(**CHAT_BODY)  # type: ignore[call-overload]
    answer = sdk.chat.completions.create(**CHAT_BODY)  # type: ignore[call-overload]
    assert answer.choices[0].message.content == "hi"
    assert seen.paths() == [CHAT] * 3  # one refused, retried once
    assert seen.statuses() == [200, 429, 200]
    assert_waited_retry_after_ms(seen)


def test_the_anthropic_sdk_raises_rate_limit_error(client: TestClient) -> None:
    key = key_with(client, rpm=1)
    sdk = anthropic_client(client, key, 0)
    sdk.messages.create(**MESSAGES_BODY)  # type: ignore[call-overload]
    with pytest.raises(anthropic.RateLimitError) as raised:
        sdk.messages.create(**MESSAGES_BODY)  # type: ignore[call-overload]
    error = raised.value
    assert error.status_code == 429
    assert error.body == {
        "type": "error",
        "error": {"type": "rate_limit_error", "message": RPM_MESSAGE},
        "request_id": error.request_id,
    }
    assert error.request_id == error.response.headers["x-request-id"]


def test_the_anthropic_sdk_retries_after_retry_after_ms(client: TestClient) -> None:
    key = key_with(client, rpm=PATIENT_RPM)
    seen = Exchanges(client)
    claude = anthropic_client(client, key, 2)
    claude.messages.create(**MESSAGES_BODY)  # type: ignore[call-overload]
    answer = claude.messages.create(**MESSAGES_BODY)  # type: ignore[call-overload]
    assert answer.content[0].text == "hi"
    assert seen.paths() == [MESSAGES] * 3  # one refused, retried once
    assert seen.statuses() == [200, 429, 200]
    assert_waited_retry_after_ms(seen)


def test_the_sdks_do_not_retry_a_spent_budget(client: TestClient) -> None:
    # Forty words reserve 88 tokens (24 estimated in, 64 out) and use 81: after the first
    # call, 69 of the day's 150 are left, too few for the next reservation until midnight.
    forty_words = " ".join("a" * 40)
    body = {**CHAT_BODY, "messages": [{"role": "user", "content": forty_words}], "max_tokens": 64}
    key = key_with(client, tpd=150)
    seen = Exchanges(client)
    sdk = openai_client(client, key, 2)
    sdk.chat.completions.create(**body)  # type: ignore[call-overload]
    with pytest.raises(openai.RateLimitError) as raised:
        sdk.chat.completions.create(**body)  # type: ignore[call-overload]
    assert raised.value.code == "insufficient_quota"
    assert seen.paths() == [CHAT] * 2  # no retry of the second
    claude = anthropic_client(client, key, 2)
    with pytest.raises(anthropic.RateLimitError) as refused:
        claude.messages.create(**body)  # type: ignore[call-overload]
    assert refused.value.response.headers["x-should-retry"] == "false"
    assert seen.paths() == [CHAT, CHAT, MESSAGES]
