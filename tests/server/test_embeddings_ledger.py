"""The embeddings API in the usage ledger and the metrics, through the real app over a
scripted embedder (a token a word): one record per request with the tokens its answer's
`usage` reported, a refusal record for a 429, the Prometheus counters, the request log,
`openscope usage`; and nothing of it with the platform off."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from openscope.cli import main
from tests.conftest import AppFactory
from tests.scripted_embedder import ScriptedEmbedder
from tests.server.limited_keys import ADMIN_KEY, bearer

EMBEDDINGS = "/compatible-mode/v1/embeddings"
MODEL = "text-embedding-v4"
PRICES = {MODEL: {"input": 0.5, "output": 0.0}}


def make(scripted_client: AppFactory, **platform: Any) -> TestClient:
    return scripted_client(
        embedders={"multilingual-e5-small": ScriptedEmbedder()},
        platform={"admin_keys": [ADMIN_KEY], "prices": PRICES, **platform},
    )


@pytest.fixture
def client(scripted_client: AppFactory) -> TestClient:
    return make(scripted_client)


def embed(client: TestClient, text: str | list[str], key: str | None = None) -> Any:
    headers = bearer(key) if key is not None else {}
    return client.post(EMBEDDINGS, json={"model": MODEL, "input": text}, headers=headers)


def by_api_and_status(client: TestClient, count: int) -> dict[tuple[str, str], dict[str, Any]]:
    """The ledger's results for the last hour by API and status, once `count` requests
    are in (the writer runs beside the answers)."""
    deadline = time.monotonic() + 10
    while True:
        response = client.get(
            "/admin/v1/usage",
            params={
                "start_time": int(time.time()) - 3600,
                "bucket_width": "1h",
                "group_by": "api,status",
            },
            headers=bearer(ADMIN_KEY),
        )
        assert response.status_code == 200, response.text
        results = [r for bucket in response.json()["data"] for r in bucket["results"]]
        if sum(r["num_model_requests"] for r in results) >= count:
            return {(r["api"], r["status"]): r for r in results}
        assert time.monotonic() < deadline, results
        time.sleep(0.05)


def test_the_ledger_has_the_tokens_the_answers_reported(client: TestClient) -> None:
    told = [
        embed(client, "one two three").json()["usage"],
        embed(client, ["four five", "six seven eight"]).json()["usage"],
    ]
    assert [usage["prompt_tokens"] for usage in told] == [3, 5]
    row = by_api_and_status(client, 2)[("embeddings", "ok")]
    assert row["num_model_requests"] == 2
    assert row["input_tokens"] == sum(usage["prompt_tokens"] for usage in told) == 8
    assert row["output_tokens"] == 0
    assert row["cost"] == pytest.approx(8 * 0.5 / 1e6)


def test_one_record_per_request_under_its_id(client: TestClient) -> None:
    answer = embed(client, "one two three")
    by_api_and_status(client, 1)
    store = client.app.state.store  # type: ignore[attr-defined]
    (record,) = client.portal.call(store.usage_records, [answer.json()["id"]])  # type: ignore[union-attr]
    assert (record.api, record.model, record.status, record.input_tokens) == (
        "embeddings",
        MODEL,
        "ok",
        3,
    )
    assert record.latency_ms >= 0 and record.ttft_ms is None


def test_a_refused_request_is_a_refusal_row(client: TestClient) -> None:
    made = client.post(
        "/admin/v1/keys",
        json={"name": "k", "limits": {MODEL: {"rpm": 1}}},
        headers=bearer(ADMIN_KEY),
    ).json()
    assert embed(client, "one two", made["value"]).status_code == 200
    assert embed(client, "one two", made["value"]).status_code == 429
    rows = by_api_and_status(client, 2)
    refused = rows[("embeddings", "limit_requests")]
    assert (refused["num_model_requests"], refused["num_failed_requests"]) == (1, 1)
    assert refused["input_tokens"] == 0
    assert rows[("embeddings", "ok")]["input_tokens"] == 2
    metrics = client.get("/metrics").text
    assert (
        f'openscope_rate_limited_total{{api="embeddings",model="{MODEL}",reason="requests"}} 1.0'
        in metrics
    )


def test_metrics_count_embeddings_requests_and_tokens(client: TestClient) -> None:
    embed(client, "one two three")
    embed(client, "four five")
    metrics = client.get("/metrics").text
    # (the exposition sorts the labels by name)
    assert (
        f'openscope_requests_total{{api="embeddings",model="{MODEL}",status="ok"}} 2.0' in metrics
    )
    assert f'openscope_tokens_total{{api="embeddings",kind="input",model="{MODEL}"}} 5.0' in metrics
    assert (
        f'openscope_request_duration_seconds_count{{api="embeddings",model="{MODEL}"}} 2.0'
        in metrics
    )


def test_the_request_log_has_a_line(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="openscope.requests"):
        answer = embed(client, "one two three")
    (line,) = [r for r in caplog.records if r.name == "openscope.requests"]
    fields = line.fields  # type: ignore[attr-defined]
    assert (fields["request_id"], fields["api"], fields["status"], fields["input_tokens"]) == (
        answer.json()["id"],
        "embeddings",
        "ok",
        3,
    )


def test_openscope_usage_shows_them(
    client: TestClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    embed(client, "one two three")
    by_api_and_status(client, 1)
    capsys.readouterr()
    data = str(tmp_path / "data")  # the data dir the app's settings name
    assert main(["usage", "--by", "model", "--json", "--data-dir", data]) == 0
    results = [r for b in json.loads(capsys.readouterr().out)["data"] for r in b["results"]]
    assert [(r["model"], r["num_model_requests"], r["input_tokens"]) for r in results] == [
        (MODEL, 1, 3)
    ]


def test_the_platform_off_meters_nothing(scripted_client: AppFactory) -> None:
    client = make(scripted_client, enabled=False)
    answer = embed(client, "one two three")
    assert answer.status_code == 200
    assert "embeddings" not in client.get("/metrics").text
    time.sleep(0.2)  # what a writer would have needed
    store = client.app.state.store  # type: ignore[attr-defined]
    assert client.portal.call(store.usage_records, [answer.json()["id"]]) == []  # type: ignore[union-attr]
