"""The usage ledger as a platform team reads it: every request a client saw leaves one
record, the ledger's totals are the sum of the `usage` the clients were told (cache billing
by Model Studio's rules), and a stream the client cut short is metered for what it got."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from openscope.backends.scripted import ScriptedBackend
from openscope.core.events import Event, Usage, UsageReport
from openscope.core.request import GenerateRequest
from tests.conftest import AppFactory

ADMIN = {"Authorization": "Bearer sk-admin-test"}
CHAT = "/compatible-mode/v1/chat/completions"
PRICES = {"qwen-plus": {"input": 2.0, "output": 8.0}}


class CachingBackend(ScriptedBackend):
    """The echo, reporting that 4 of each prompt's tokens were read from an explicit cache
    and 2 written to it, when the request asked for explicit caching."""

    async def generate(self, request: GenerateRequest, model: str) -> AsyncGenerator[Event, None]:
        explicit = any(
            getattr(part, "cache_control", None) is not None
            for message in request.messages
            for part in message.parts
        )
        async for event in super().generate(request, model):
            if isinstance(event, UsageReport) and event.usage.output_tokens and explicit:
                usage = event.usage
                event = UsageReport(
                    Usage(
                        input_tokens=usage.input_tokens + 6,
                        output_tokens=usage.output_tokens,
                        cached_tokens=4,
                        cache_creation_tokens=2,
                        cache_type="ephemeral",
                    )
                )
            yield event


@pytest.fixture
def client(scripted_client: AppFactory) -> TestClient:
    return scripted_client(
        backend=CachingBackend(delay=0.01),
        platform={"admin_keys": ["sk-admin-test"], "prices": PRICES},
    )


def usage_totals(client: TestClient, **query: Any) -> list[dict[str, Any]]:
    """The ledger's results for today, once the writer has caught up with `expect`."""
    response = client.get(
        "/admin/v1/usage",
        params={"start_time": int(time.time()) - 3600, "bucket_width": "1h", **query},
        headers=ADMIN,
    )
    assert response.status_code == 200, response.text
    return [r for bucket in response.json()["data"] for r in bucket["results"]]


def wait_for_requests(client: TestClient, count: int) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while True:
        results = usage_totals(client)
        total = sum(r["num_model_requests"] for r in results)
        if total >= count or time.monotonic() > deadline:
            assert total == count
            assert len(results) == 1
            return results[0]
        time.sleep(0.05)


def test_ledger_totals_are_what_the_clients_were_told(client: TestClient) -> None:
    seen = {"prompt": 0, "completion": 0, "cached": 0}
    plain = {"model": "qwen-plus", "messages": [{"role": "user", "content": "one two three"}]}
    cached = {
        "model": "qwen-plus",
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "four five", "cache_control": {"type": "ephemeral"}}
                ],
            }
        ],
    }
    for body in (plain, cached, plain):
        usage = client.post(CHAT, json=body).json()["usage"]
        seen["prompt"] += usage["prompt_tokens"]
        seen["completion"] += usage["completion_tokens"]
        seen["cached"] += usage.get("prompt_tokens_details", {}).get("cached_tokens", 0)
    ledger = wait_for_requests(client, 3)
    assert ledger["input_tokens"] == seen["prompt"]
    assert ledger["output_tokens"] == seen["completion"]
    assert ledger["input_cached_tokens"] == seen["cached"] == 4
    assert ledger["input_cache_creation_tokens"] == 2
    # explicit cache: a hit at 10 %, a creation at 125 %, the rest at 100 %
    billed = (seen["prompt"] - 4 - 2) + 4 * 0.10 + 2 * 1.25
    assert ledger["billed_input_tokens"] == pytest.approx(billed)
    assert ledger["cost"] == pytest.approx((billed * 2.0 + seen["completion"] * 8.0) / 1e6)
    assert ledger["num_failed_requests"] == 0


def test_a_stream_cut_short_is_metered_for_what_it_got(client: TestClient) -> None:
    words = " ".join(f"w{n}" for n in range(200))
    body = {
        "model": "qwen-plus",
        "stream": True,
        "messages": [{"role": "user", "content": words}],
    }
    with client.stream("POST", CHAT, json=body) as response:
        lines = response.iter_lines()
        got = [next(lines) for _ in range(6)]
    assert all(line.startswith("data:") or not line for line in got)
    ledger = wait_for_requests(client, 1)
    assert ledger["num_failed_requests"] == 1  # cancelled
    assert 1 <= ledger["output_tokens"] < 200
    assert ledger["input_tokens"] > 200


def test_usage_groups_by_key_and_model(client: TestClient) -> None:
    made = client.post("/admin/v1/keys", json={"name": "k"}, headers=ADMIN).json()
    body = {"model": "qwen-plus", "messages": [{"role": "user", "content": "hi"}]}
    client.post(CHAT, json=body, headers={"Authorization": f"Bearer {made['value']}"})
    client.post(CHAT, json=body)
    wait_for_requests(client, 2)
    by_key = usage_totals(client, group_by="api_key_id")
    assert sorted(r["num_model_requests"] for r in by_key) == [1, 1]
    assert made["id"] in {r["api_key_id"] for r in by_key}
    only = usage_totals(client, api_key_ids=made["id"])
    assert [r["num_model_requests"] for r in only] == [1]
    bad = client.get("/admin/v1/usage", params={"start_time": 0, "group_by": "x"}, headers=ADMIN)
    assert bad.status_code == 400


def test_a_refused_call_is_a_ledger_row_without_tokens(client: TestClient) -> None:
    made = client.post(
        "/admin/v1/keys", json={"name": "k", "limits": {"qwen-plus": {"rpm": 1}}}, headers=ADMIN
    ).json()
    body = {"model": "qwen-plus", "messages": [{"role": "user", "content": "hi"}]}
    key = {"Authorization": f"Bearer {made['value']}"}
    assert client.post(CHAT, json=body, headers=key).status_code == 200
    assert client.post(CHAT, json=body, headers=key).status_code == 429
    ledger = wait_for_requests(client, 2)
    assert ledger["num_failed_requests"] == 1
    metrics = client.get("/metrics").text
    assert (
        'openscope_rate_limited_total{api="chat",model="qwen-plus",reason="requests"} 1.0'
        in metrics
    )
    assert 'status="limit_requests"' in metrics


def test_usage_groups_by_status(client: TestClient) -> None:
    made = client.post(
        "/admin/v1/keys", json={"name": "k", "limits": {"qwen-plus": {"rpm": 1}}}, headers=ADMIN
    ).json()
    body = {"model": "qwen-plus", "messages": [{"role": "user", "content": "hi"}]}
    key = {"Authorization": f"Bearer {made['value']}"}
    assert client.post(CHAT, json=body, headers=key).status_code == 200
    assert client.post(CHAT, json=body, headers=key).status_code == 429
    assert client.post(CHAT, json=body).status_code == 200  # the configured key: no limit
    wait_for_requests(client, 3)

    def counts(results: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return sorted(
            (r["api_key_id"], r["status"], r["num_model_requests"], r["num_failed_requests"])
            for r in results
        )

    assert counts(usage_totals(client, group_by="status")) == [
        (None, "limit_requests", 1, 1),
        (None, "ok", 2, 0),
    ]
    # with the owner too, repeated or comma-joined: what the operator view's chart reads
    by_key = counts(usage_totals(client, group_by=["api_key_id", "status"]))
    assert by_key == counts(usage_totals(client, group_by="status,api_key_id"))
    assert [row for row in by_key if row[0] == made["id"]] == [
        (made["id"], "limit_requests", 1, 1),
        (made["id"], "ok", 1, 0),
    ]
    mine = {r["status"]: r for r in usage_totals(client, group_by="status", api_key_ids=made["id"])}
    assert mine["limit_requests"]["input_tokens"] == 0 < mine["ok"]["input_tokens"]
    assert all(r["status"] is None for r in usage_totals(client, group_by="api_key_id"))
    bad = client.get(
        "/admin/v1/usage", params={"start_time": 0, "group_by": "status,state"}, headers=ADMIN
    )
    assert bad.status_code == 400
    error = bad.json()["error"]
    assert (error["param"], error["code"]) == ("group_by", "invalid_parameter_error")
    assert "'state' is not one of" in error["message"] and "status" in error["message"]
