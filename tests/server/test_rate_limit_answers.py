"""Each of Model Studio's 429s, whole, on each of the three APIs: the body (with the request
id the headers carry) and every retry and rate-limit header, with the limiter's clock held
still so that each figure is exact.

The figures: the account scope holds the catalogue's qwen-plus limits (600 RPM, 1,000,000
TPM, so RPS 10 and TPS 16,666.7); each test's key adds its own. A call of "hi" is reserved
5 estimated prompt tokens + 64 (`max_tokens`) and settled to the 3 it used (2 in, 1 out); a
call of forty "a"s uses 81 (41 in, 40 out)."""

from __future__ import annotations

import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

import openscope.protocols.ratelimit_headers
import openscope.server.platform
from openscope.backends.scripted import ScriptedBackend
from openscope.ratelimit import InProcessLimiter
from tests.conftest import AppFactory
from tests.server.limited_keys import ADMIN_KEY, bearer, key_with

# An arbitrary monotonic reading, whose sums with the buckets' intervals are not exact
# floats (as a real clock's are not).
CLOCK = 1.0
WALL = 1_767_225_600.0  # 2026-01-01T00:00:00Z, for Anthropic's RFC 3339 resets
MAX_TOKENS = 64
FORTY_WORDS = " ".join("a" * 40)

RPM_MESSAGE = "Requests rate limit exceeded, please try again later."
TPM_MESSAGE = "You exceeded your current quota, please check your plan and billing details."
BURST_MESSAGE = (
    "Request rate increased too quickly. To ensure system stability, please adjust your "
    "client logic to scale requests more smoothly over time."
)
PATHS = {
    "chat": "/compatible-mode/v1/chat/completions",
    "responses": "/compatible-mode/v1/responses",
    "messages": "/apps/anthropic/v1/messages",
}
APIS = tuple(PATHS)


def body_for(api: str, content: str = "hi", *, stream: bool = False) -> dict[str, Any]:
    body: dict[str, Any]
    if api == "responses":
        body = {"model": "qwen-plus", "input": content, "max_output_tokens": MAX_TOKENS}
    else:
        body = {
            "model": "qwen-plus",
            "messages": [{"role": "user", "content": content}],
            "max_tokens": MAX_TOKENS,
        }
    return {**body, "stream": True} if stream else body


@dataclass(frozen=True)
class Left:
    """One x-ratelimit figure set: limit, remaining, the reset as OpenAI's Go duration and
    as Anthropic's RFC 3339 time (seconds after WALL, rounded up)."""

    limit: int
    remaining: int
    reset: str
    reset_at: str


def rate_headers(api: str, requests: Left, tokens: Left) -> dict[str, str]:
    headers = {}
    for name, left in (("requests", requests), ("tokens", tokens)):
        if api == "messages":
            headers[f"anthropic-ratelimit-{name}-limit"] = str(left.limit)
            headers[f"anthropic-ratelimit-{name}-remaining"] = str(left.remaining)
            headers[f"anthropic-ratelimit-{name}-reset"] = left.reset_at
        else:
            headers[f"x-ratelimit-limit-{name}"] = str(left.limit)
            headers[f"x-ratelimit-remaining-{name}"] = str(left.remaining)
            headers[f"x-ratelimit-reset-{name}"] = left.reset
    return headers


def limit_headers_of(response: Any) -> dict[str, str]:
    """Every retry and rate-limit header the response carries (of either API's naming)."""
    return {
        name: value
        for name, value in response.headers.items()
        if name.startswith(("x-ratelimit-", "anthropic-ratelimit-", "retry-after", "x-should-"))
    }


def error_body(api: str, code: str, message: str, request_id: str) -> dict[str, Any]:
    if api == "chat":
        return {
            "error": {"message": message, "type": code, "param": None, "code": code},
            "request_id": request_id,
        }
    if api == "responses":
        return {"code": code, "message": message, "request_id": request_id}
    return {
        "type": "error",
        "error": {"type": "rate_limit_error", "message": message},
        "request_id": request_id,
    }


def limiter_reading(now: float) -> Callable[..., InProcessLimiter]:
    """InProcessLimiter, but its clock stands still at `now`."""

    def build(*args: Any, **kwargs: Any) -> InProcessLimiter:
        return InProcessLimiter(*args, **{**kwargs, "clock": lambda: now})

    return build


@pytest.fixture
def still_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The server's limiter reads CLOCK, and Anthropic's resets count from WALL."""
    monkeypatch.setattr(openscope.server.platform, "InProcessLimiter", limiter_reading(CLOCK))
    monkeypatch.setattr(
        openscope.protocols.ratelimit_headers, "time", types.SimpleNamespace(time=lambda: WALL)
    )
    yield


@pytest.fixture
def make_client(scripted_client: AppFactory, still_clock: None) -> AppFactory:
    def make(backend: ScriptedBackend | None = None) -> TestClient:
        return scripted_client(backend=backend, platform={"admin_keys": [ADMIN_KEY]})

    return make


def assert_refused(
    api: str,
    refused: Any,
    *,
    code: str,
    message: str,
    retry_after_ms: int,
    retry_after: int,
    requests: Left,
    tokens: Left,
) -> None:
    assert refused.status_code == 429, refused.text
    request_id = refused.headers["x-request-id"]
    assert refused.headers["request-id"] == request_id  # the name Anthropic's SDK reads
    assert refused.json() == error_body(api, code, message, request_id)
    assert limit_headers_of(refused) == {
        "retry-after": str(retry_after),
        "retry-after-ms": str(retry_after_ms),
        **rate_headers(api, requests, tokens),
    }


@pytest.mark.parametrize("api", APIS)
def test_an_admitted_call_says_what_is_left(make_client: AppFactory, api: str) -> None:
    client = make_client()
    key = key_with(client, rpm=1)
    admitted = client.post(PATHS[api], json=body_for(api), headers=bearer(key))
    assert admitted.status_code == 200, admitted.text
    # the key's 1 RPM is the tightest; the tokens are the account's, with 69 reserved
    assert limit_headers_of(admitted) == rate_headers(
        api,
        requests=Left(1, 0, "1m0s", "2026-01-01T00:01:00Z"),
        tokens=Left(1_000_000, 999_931, "5ms", "2026-01-01T00:00:01Z"),
    )


@pytest.mark.parametrize("api", APIS)
def test_over_rpm_is_limit_requests(make_client: AppFactory, api: str) -> None:
    client = make_client()
    key = key_with(client, rpm=1)
    assert client.post(PATHS[api], json=body_for(api), headers=bearer(key)).status_code == 200
    refused = client.post(PATHS[api], json=body_for(api), headers=bearer(key))
    assert_refused(
        api,
        refused,
        code="limit_requests",
        message=RPM_MESSAGE,
        retry_after_ms=60_000,
        retry_after=60,
        requests=Left(1, 0, "1m0s", "2026-01-01T00:01:00Z"),
        tokens=Left(1_000_000, 999_997, "1ms", "2026-01-01T00:00:01Z"),
    )


@pytest.mark.parametrize("api", APIS)
def test_over_the_implied_rps_is_limit_requests(make_client: AppFactory, api: str) -> None:
    # 120 RPM implies 2 RPS: a third call in the same instant waits half a second, while
    # the minute still has 118 requests left.
    client = make_client()
    key = key_with(client, rpm=120)
    for _ in range(2):
        assert client.post(PATHS[api], json=body_for(api), headers=bearer(key)).status_code == 200
    refused = client.post(PATHS[api], json=body_for(api), headers=bearer(key))
    assert_refused(
        api,
        refused,
        code="limit_requests",
        message=RPM_MESSAGE,
        retry_after_ms=500,
        retry_after=1,
        requests=Left(120, 118, "1s", "2026-01-01T00:00:01Z"),
        tokens=Left(1_000_000, 999_994, "1ms", "2026-01-01T00:00:01Z"),
    )


@pytest.mark.parametrize("api", APIS)
def test_over_tpm_is_insufficient_quota(make_client: AppFactory, api: str) -> None:
    # 120 TPM (2 tokens a second, 120 banked): the first call reserves 88 (24 estimated in,
    # 64 out) and uses 81, so 39 are left; the next call's 88 are there in 24.5 s, and the
    # bucket is full in 40.5 s.
    client = make_client()
    key = key_with(client, tpm=120, tps=1000)
    body = body_for(api, FORTY_WORDS)
    assert client.post(PATHS[api], json=body, headers=bearer(key)).status_code == 200
    refused = client.post(PATHS[api], json=body, headers=bearer(key))
    assert_refused(
        api,
        refused,
        code="insufficient_quota",
        message=TPM_MESSAGE,
        retry_after_ms=24_500,
        retry_after=25,
        requests=Left(600, 599, "100ms", "2026-01-01T00:00:01Z"),
        tokens=Left(120, 39, "40.5s", "2026-01-01T00:00:41Z"),
    )


@pytest.mark.parametrize("api", APIS)
def test_over_the_implied_tps_is_insufficient_quota(make_client: AppFactory, api: str) -> None:
    # 100 TPM implies 5/3 TPS with two tokens banked: the 3 tokens used take 1.8 s to come
    # back, and one is there after 1.2 s, though the minute has 97 left.
    client = make_client()
    key = key_with(client, tpm=100)
    assert client.post(PATHS[api], json=body_for(api), headers=bearer(key)).status_code == 200
    refused = client.post(PATHS[api], json=body_for(api), headers=bearer(key))
    assert_refused(
        api,
        refused,
        code="insufficient_quota",
        message=TPM_MESSAGE,
        retry_after_ms=1_200,
        retry_after=2,
        requests=Left(600, 599, "100ms", "2026-01-01T00:00:01Z"),
        tokens=Left(100, 97, "1.8s", "2026-01-01T00:00:02Z"),
    )


@pytest.mark.parametrize("api", APIS)
def test_too_many_in_flight_is_limit_burst_rate(make_client: AppFactory, api: str) -> None:
    client = make_client(ScriptedBackend(delay=0.2))
    key = key_with(client, max_concurrent=1)
    held = body_for(api, "a b c d", stream=True)
    with client.stream("POST", PATHS[api], json=held, headers=bearer(key)) as holding:
        assert holding.status_code == 200
        refused = client.post(PATHS[api], json=body_for(api), headers=bearer(key))
        # the held call's 70 tokens (6 estimated + 64) are still reserved
        assert_refused(
            api,
            refused,
            code="limit_burst_rate",
            message=BURST_MESSAGE,
            retry_after_ms=1_000,
            retry_after=1,
            requests=Left(600, 599, "100ms", "2026-01-01T00:00:01Z"),
            tokens=Left(1_000_000, 999_930, "5ms", "2026-01-01T00:00:01Z"),
        )
        for _ in holding.iter_lines():
            pass
    assert client.post(PATHS[api], json=body_for(api), headers=bearer(key)).status_code == 200


@pytest.mark.parametrize("api", APIS)
def test_a_spent_daily_budget_says_do_not_retry(make_client: AppFactory, api: str) -> None:
    # The first call reserves 88 of the day's 150 tokens and uses 81: the next one's 88
    # are there only at midnight (UTC; the still clock reads 1970-01-01T00:00:01), and
    # `x-should-retry: false` tells the SDKs that a budget, not a rate, refused it.
    client = make_client()
    key = key_with(client, tpd=150)
    body = body_for(api, FORTY_WORDS)
    assert client.post(PATHS[api], json=body, headers=bearer(key)).status_code == 200
    refused = client.post(PATHS[api], json=body, headers=bearer(key))
    assert refused.status_code == 429, refused.text
    request_id = refused.headers["x-request-id"]
    assert refused.headers["request-id"] == request_id
    assert refused.json() == error_body(api, "insufficient_quota", TPM_MESSAGE, request_id)
    headers = limit_headers_of(refused)
    retry_after = headers.pop("retry-after")
    retry_after_ms = headers.pop("retry-after-ms")
    assert retry_after.isdigit() and int(retry_after) > 0
    assert retry_after_ms.isdigit() and int(retry_after_ms) > 0
    assert int(retry_after) == -(-int(retry_after_ms) // 1000)
    assert headers.pop("x-should-retry") == "false"
    prefix = "anthropic-ratelimit-" if api == "messages" else "x-ratelimit-"
    assert headers.keys() == rate_headers(api, *[Left(0, 0, "", "")] * 2).keys()
    assert all(name.startswith(prefix) for name in headers)


# The remaining units used to come out one short here: a TAT minus a clock reading of this
# size carries float noise above a fixed 1e-9 of slack once divided by a 6e-5 s interval.
def test_remaining_is_exact_at_a_real_clocks_magnitude(
    scripted_client: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(openscope.server.platform, "InProcessLimiter", limiter_reading(81_234.567))
    client = scripted_client(platform={"admin_keys": [ADMIN_KEY]})
    admitted = client.post(PATHS["chat"], json=body_for("chat"))
    assert admitted.status_code == 200, admitted.text
    assert admitted.headers["x-ratelimit-remaining-tokens"] == "999931"  # 69 reserved
