"""The admit stage's answer to a call no wait would ever admit: larger than a key's
tokens per minute or its day's budget."""

from __future__ import annotations

import openai
import pytest
from fastapi.testclient import TestClient

from tests.conftest import AppFactory
from tests.server.limited_keys import ADMIN_KEY, key_with

CHAT = "/compatible-mode/v1/chat/completions"
CHAT_BODY = {"model": "qwen-plus", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def client(scripted_client: AppFactory) -> TestClient:
    return scripted_client(platform={"admin_keys": [ADMIN_KEY]})


@pytest.mark.parametrize(("limits", "per"), [({"tpm": 1_000}, "minute"), ({"tpd": 1_000}, "day")])
def test_a_call_larger_than_a_limit_is_refused_for_good(
    client: TestClient, limits: dict[str, int], per: str
) -> None:
    key = key_with(client, **limits)
    refused = client.post(
        CHAT, json={**CHAT_BODY, "max_tokens": 2_000}, headers={"Authorization": f"Bearer {key}"}
    )
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert (error["code"], error["type"]) == ("insufficient_quota", "insufficient_quota")
    assert error["message"].startswith(
        "Allocated quota exceeded, please increase your quota limit. "
        f"Limit 1000 tokens per {per}, requested 20"  # the prompt and its 2,000 of output
    )
    assert refused.headers["x-should-retry"] == "false"
    assert "retry-after" not in refused.headers  # no wait helps
    # It took nothing: a call that fits passes at once.
    fits = client.post(
        CHAT, json={**CHAT_BODY, "max_tokens": 100}, headers={"Authorization": f"Bearer {key}"}
    )
    assert fits.status_code == 200, fits.text


def test_the_sdk_does_not_retry_a_call_too_large_for_its_limit(client: TestClient) -> None:
    key = key_with(client, tpm=1_000)
    sent: list[str] = []
    client.event_hooks["request"].append(lambda request: sent.append(request.url.path))
    sdk = openai.OpenAI(
        api_key=key,
        base_url="http://testserver/compatible-mode/v1",
        http_client=client,
        max_retries=2,
    )
    with pytest.raises(openai.RateLimitError):
        sdk.chat.completions.create(**{**CHAT_BODY, "max_tokens": 2_000})  # type: ignore[call-overload]
    assert sent == [CHAT]


@pytest.mark.parametrize("limits", [{"tpm": 1_000}, {"tpd": 1_000}])
def test_a_call_without_a_maximum_reserves_only_what_the_limit_can_hold(
    client: TestClient, limits: dict[str, int]
) -> None:
    # No max_tokens: the default 4,096 of output would make every call "too large" for a
    # 1,000-token limit; a quarter of the limit is reserved instead, and settled to what
    # the echo used, so the calls after it pass too.
    key = key_with(client, **limits)
    for _ in range(6):
        answered = client.post(CHAT, json=CHAT_BODY, headers={"Authorization": f"Bearer {key}"})
        assert answered.status_code == 200, answered.text
    if "tpm" in limits:
        # the sixth call's reservation (5 estimated + 250) is held; the five before used 3
        # each (and the bucket refills 1,000 a minute meanwhile: up to a second's worth)
        left = int(answered.headers["x-ratelimit-remaining-tokens"])
        assert 1_000 - 5 * 3 - 255 <= left <= 1_000 - 5 * 3 - 255 + 17
