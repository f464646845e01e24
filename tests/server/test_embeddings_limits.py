"""The platform's rate limits on the embeddings API, through the real app over a scripted
embedder (a token a word): the same scopes and limiter as generation, each text's tokens
as the request's token demand, Model Studio's 429s with the same headers as chat's, and
the `x-ratelimit-*` headers on every limited answer. The limiter's clock stands still, so
every figure is exact."""

from __future__ import annotations

from typing import Any

import openai
import pytest
from fastapi.testclient import TestClient

import openscope.server.platform
from tests.conftest import AppFactory
from tests.scripted_embedder import ScriptedEmbedder
from tests.server.limited_keys import ADMIN_KEY, bearer
from tests.server.test_rate_limit_answers import CLOCK, limit_headers_of, limiter_reading

EMBEDDINGS = "/compatible-mode/v1/embeddings"
CHAT = "/compatible-mode/v1/chat/completions"
MODEL = "text-embedding-v4"  # an alias of the scripted multilingual-e5-small
RPM_MESSAGE = "Requests rate limit exceeded, please try again later."
TPM_MESSAGE = "You exceeded your current quota, please check your plan and billing details."


def embed(client: TestClient, key: str | None, text: str = "one two three", **body: Any) -> Any:
    headers = bearer(key) if key is not None else {}
    return client.post(EMBEDDINGS, json={"model": MODEL, "input": text, **body}, headers=headers)


def chat(client: TestClient, key: str) -> Any:
    body = {"model": "qwen-plus", "messages": [{"role": "user", "content": "hi"}]}
    return client.post(CHAT, json=body, headers=bearer(key))


def key_limited(client: TestClient, limits: dict[str, dict[str, Any]], **fields: Any) -> str:
    response = client.post(
        "/admin/v1/keys",
        json={"name": "embedding team", "limits": limits, **fields},
        headers=bearer(ADMIN_KEY),
    )
    assert response.status_code == 200, response.text
    return str(response.json()["value"])


@pytest.fixture
def make_client(scripted_client: AppFactory, monkeypatch: pytest.MonkeyPatch) -> AppFactory:
    """An app whose limiter's clock stands still, with the scripted embedder."""
    monkeypatch.setattr(openscope.server.platform, "InProcessLimiter", limiter_reading(CLOCK))

    def make(**fields: Any) -> TestClient:
        platform = {"admin_keys": [ADMIN_KEY], **fields.pop("platform", {})}
        return scripted_client(
            embedders={"multilingual-e5-small": ScriptedEmbedder()}, platform=platform, **fields
        )

    return make


@pytest.fixture
def client(make_client: AppFactory) -> TestClient:
    return make_client()


def assert_model_studio_429(refused: Any, code: str, message: str, headers: dict[str, str]) -> None:
    assert refused.status_code == 429, refused.text[:300]
    request_id = refused.headers["x-request-id"]
    assert refused.json() == {
        "error": {"message": message, "type": code, "param": None, "code": code},
        "id": request_id,
        "request_id": request_id,
    }
    assert limit_headers_of(refused) == headers


def test_over_rpm_the_third_call_is_limit_requests(client: TestClient) -> None:
    # An RPS above the RPM's implied 2/60 lets the two calls in one instant: the minute
    # is the limit that runs out.
    key = key_limited(client, {MODEL: {"rpm": 2, "rps": 10}})
    first, second = embed(client, key), embed(client, key)
    assert (first.status_code, second.status_code) == (200, 200)
    assert limit_headers_of(first) == {
        "x-ratelimit-limit-requests": "2",
        "x-ratelimit-remaining-requests": "1",
        "x-ratelimit-reset-requests": "30s",
    }
    assert limit_headers_of(second)["x-ratelimit-remaining-requests"] == "0"
    assert_model_studio_429(
        embed(client, key),
        "limit_requests",
        RPM_MESSAGE,
        {
            "retry-after": "30",
            "retry-after-ms": "30000",
            "x-ratelimit-limit-requests": "2",
            "x-ratelimit-remaining-requests": "0",
            "x-ratelimit-reset-requests": "1m0s",
        },
    )


def test_the_implied_rps_applies_as_to_chat(client: TestClient) -> None:
    # 2 RPM implies one call every 30 s: a second call in the same instant waits for it.
    key = key_limited(client, {MODEL: {"rpm": 2}})
    assert embed(client, key).status_code == 200
    refused = embed(client, key)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "limit_requests"
    assert refused.headers["retry-after-ms"] == "30000"


def test_the_openai_sdk_raises_rate_limit_error(client: TestClient) -> None:
    key = key_limited(client, {MODEL: {"rpm": 2, "rps": 10}})
    sdk = openai.OpenAI(
        base_url="http://testserver/compatible-mode/v1",
        api_key=key,
        http_client=client,
        max_retries=0,
    )
    for _ in range(2):
        sdk.embeddings.create(model=MODEL, input="one two three")
    with pytest.raises(openai.RateLimitError) as raised:
        sdk.embeddings.create(model=MODEL, input="one two three")
    error = raised.value
    assert (error.status_code, error.code, error.type) == (429, "limit_requests", "limit_requests")
    assert error.response.headers["retry-after-ms"] == "30000"


def test_tpm_counts_the_embedded_tokens(client: TestClient) -> None:
    # 10 tokens a minute: three words leave 7, then four leave 3, and four more do not fit.
    key = key_limited(client, {MODEL: {"tpm": 10, "tps": 10}})
    first = embed(client, key, "one two three")
    assert first.json()["usage"]["prompt_tokens"] == 3
    assert first.headers["x-ratelimit-remaining-tokens"] == "7"
    second = embed(client, key, ["four five", "six seven"])
    assert second.json()["usage"]["prompt_tokens"] == 4
    assert second.headers["x-ratelimit-remaining-tokens"] == "3"
    assert_model_studio_429(
        embed(client, key, "eight nine ten eleven"),
        "insufficient_quota",
        TPM_MESSAGE,
        {
            # one token short at 10 a minute: 6 s; full again (7 spent) in 42 s
            "retry-after": "6",
            "retry-after-ms": "6000",
            "x-ratelimit-limit-tokens": "10",
            "x-ratelimit-remaining-tokens": "3",
            "x-ratelimit-reset-tokens": "42s",
        },
    )


def test_a_request_larger_than_the_limit_is_not_retried(client: TestClient) -> None:
    key = key_limited(client, {MODEL: {"tpm": 10}})
    refused = embed(client, key, " ".join(["word"] * 12))
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "insufficient_quota"
    assert refused.json()["error"]["message"].endswith("Limit 10 tokens per minute, requested 12.")
    assert refused.headers["x-should-retry"] == "false"
    assert "retry-after" not in refused.headers


def test_a_finished_call_frees_its_concurrency_slot(client: TestClient) -> None:
    # One call at a time: calls one after the other all pass.
    key = key_limited(client, {MODEL: {"max_concurrent": 1}})
    assert [embed(client, key).status_code for _ in range(3)] == [200, 200, 200]


def test_chat_and_embeddings_count_apart(client: TestClient) -> None:
    # Limits are per model: the chat model and the embedding model are two models, so one
    # key's 1 RPM on each lets one call of each through, and refuses the second of each.
    key = key_limited(client, {"qwen-plus": {"rpm": 1}, MODEL: {"rpm": 1}})
    assert chat(client, key).status_code == 200
    assert embed(client, key).status_code == 200
    assert chat(client, key).status_code == 429
    assert embed(client, key).status_code == 429


def test_a_key_limit_for_every_model_holds_each_apart(client: TestClient) -> None:
    key = key_limited(client, {"*": {"rpm": 1}})
    assert embed(client, key).status_code == 200
    assert embed(client, key).json()["error"]["code"] == "limit_requests"
    assert chat(client, key).status_code == 200


def test_the_accounts_limit_applies(make_client: AppFactory) -> None:
    client = make_client(platform={"limits": {MODEL: {"rpm": 1}}})
    answered = embed(client, None)  # the configured key: the account's limit alone
    assert answered.headers["x-ratelimit-limit-requests"] == "1"
    assert embed(client, None).json()["error"]["code"] == "limit_requests"


def test_the_workspaces_limit_applies(client: TestClient) -> None:
    admin = bearer(ADMIN_KEY)
    assert client.post("/admin/v1/workspaces", json={"id": "team-b"}, headers=admin).is_success
    body = {"workspace_id": "team-b", "models": [{"model": MODEL, "usage_limit": 5}]}
    assert client.post("/admin/v1/models/limits", json=body, headers=admin).is_success
    key = key_limited(client, {}, workspace_id="team-b")
    assert embed(client, key, "one two three").headers["x-ratelimit-remaining-tokens"] == "2"
    assert embed(client, key, "four five six").json()["error"]["code"] == "insufficient_quota"
    assert embed(client, None, "four five six").status_code == 200  # another workspace's key


def test_the_allow_list_is_checked_before_any_limit(client: TestClient) -> None:
    key = key_limited(client, {MODEL: {"rpm": 1}}, models=["qwen-plus"])
    refused = embed(client, key)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "access_denied"
    assert "x-ratelimit-limit-requests" not in refused.headers


def test_without_a_limit_no_headers(client: TestClient) -> None:
    answered = embed(client, None)
    assert answered.status_code == 200
    assert limit_headers_of(answered) == {}


def test_the_platform_off_leaves_embeddings_unlimited(make_client: AppFactory) -> None:
    client = make_client(platform={"enabled": False, "limits": {MODEL: {"rpm": 1}}})
    answers = [embed(client, None) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert all(limit_headers_of(a) == {} for a in answers)
