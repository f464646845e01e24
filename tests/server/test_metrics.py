"""GET /metrics: the backends' engine snapshots in Prometheus text format."""

from collections.abc import Iterator
from dataclasses import fields, replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from openscope.backends.base import EngineMetrics
from openscope.backends.scripted import ScriptedBackend
from openscope.server import create_app
from openscope.server.metrics import COUNTERS, GAUGES
from openscope.settings import Settings

SNAPSHOT = EngineMetrics(
    queue_depth=3,
    running_sequences=2,
    parallel_sequences=4,
    kv_used_tokens=1500,
    kv_reserved_tokens=1800,
    kv_capacity_tokens=8192,
    cached_prefixes=5,
    cache_hit_tokens_total=700,
    prompt_tokens_total=2000,
    generated_tokens_total=900,
    tokens_per_second=42.5,
    rejected_total=1,
)


class MeteredBackend(ScriptedBackend):
    """The scripted backend, reporting whatever snapshot the test sets."""

    def __init__(self, snapshot: EngineMetrics) -> None:
        super().__init__()
        self.snapshot = snapshot

    def metrics(self) -> EngineMetrics | None:
        return self.snapshot


@pytest.fixture
def metered() -> MeteredBackend:
    return MeteredBackend(SNAPSHOT)


@pytest.fixture
def client(tmp_path: Path, metered: MeteredBackend) -> Iterator[TestClient]:
    settings = Settings.model_validate(
        {
            "api_keys": ["sk-test"],
            "data_dir": str(tmp_path / "data"),
            "backends": {"embedded": {"type": "scripted"}, "plain": {"type": "scripted"}},
            "routes": {"smollm2-135m-instruct": "embedded"},
        }
    )
    app = create_app(settings, backends={"embedded": metered, "plain": ScriptedBackend()})
    with TestClient(app, headers={"Authorization": "Bearer sk-test"}) as client:
        yield client


def samples(body: str) -> dict[tuple[str, str], float]:
    """(sample name, backend label) -> value."""
    return {
        (sample.name, sample.labels["backend"]): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
        if "backend" in sample.labels
    }


def test_metrics_need_a_key_with_the_metrics_scope(client: TestClient) -> None:
    assert client.get("/metrics", headers={"Authorization": ""}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer sk-nope"}).status_code == 401


def test_metrics_can_be_open(tmp_path: Path) -> None:
    settings = Settings.model_validate(
        {"data_dir": str(tmp_path / "data"), "platform": {"metrics_need_key": False}}
    )
    app = create_app(settings, backends={"embedded": ScriptedBackend()})
    with TestClient(app) as open_client:
        assert open_client.get("/metrics").status_code == 200


def test_requests_are_counted_per_model_and_api(client: TestClient) -> None:
    body = {"model": "smollm2-135m-instruct", "messages": [{"role": "user", "content": "a b"}]}
    assert client.post("/v1/chat/completions", json=body).status_code == 200
    families = {f.name: f for f in text_string_to_metric_families(client.get("/metrics").text)}
    (done,) = [s for s in families["openscope_requests"].samples if s.name.endswith("_total")]
    assert done.labels == {"model": "smollm2-135m-instruct", "api": "chat", "status": "ok"}
    assert done.value == 1
    kinds = {
        s.labels["kind"]: s.value
        for s in families["openscope_tokens"].samples
        if s.name.endswith("_total")
    }
    assert kinds["output"] == 2
    latency = families["openscope_request_duration_seconds"]
    assert any(s.name.endswith("_count") and s.value == 1 for s in latency.samples)
    assert "sk-test" not in client.get("/metrics").text


def test_metrics_are_prometheus_text(client: TestClient) -> None:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    body = response.text
    assert 'openscope_engine_queue_depth{backend="embedded"} 3.0' in body.splitlines()
    types = {family.name: family.type for family in text_string_to_metric_families(body)}
    assert types["openscope_engine_queue_depth"] == "gauge"
    assert types["openscope_engine_cache_hit_tokens"] == "counter"
    assert (
        "# HELP openscope_engine_cache_hit_tokens_total Prompt tokens served from the prefix cache."
    ) in body


def test_every_field_is_exposed_with_the_backend_label(client: TestClient) -> None:
    assert samples(client.get("/metrics").text) == {
        ("openscope_engine_queue_depth", "embedded"): 3,
        ("openscope_engine_running_sequences", "embedded"): 2,
        ("openscope_engine_parallel_sequences", "embedded"): 4,
        ("openscope_engine_kv_used_tokens", "embedded"): 1500,
        ("openscope_engine_kv_reserved_tokens", "embedded"): 1800,
        ("openscope_engine_kv_capacity_tokens", "embedded"): 8192,
        ("openscope_engine_cached_prefixes", "embedded"): 5,
        ("openscope_engine_tokens_per_second", "embedded"): 42.5,
        ("openscope_engine_cache_hit_tokens_total", "embedded"): 700,
        ("openscope_engine_prompt_tokens_total", "embedded"): 2000,
        ("openscope_engine_generated_tokens_total", "embedded"): 900,
        ("openscope_engine_rejected_total", "embedded"): 1,
    }


def test_a_backend_without_an_engine_adds_no_lines(client: TestClient) -> None:
    body = client.get("/metrics").text
    assert 'backend="plain"' not in body


def test_values_are_read_at_scrape_time(client: TestClient, metered: MeteredBackend) -> None:
    client.get("/metrics")
    metered.snapshot = replace(SNAPSHOT, queue_depth=9, generated_tokens_total=1000)
    found = samples(client.get("/metrics").text)
    assert found["openscope_engine_queue_depth", "embedded"] == 9
    assert found["openscope_engine_generated_tokens_total", "embedded"] == 1000


def test_no_engine_no_metrics(tmp_path: Path) -> None:
    settings = Settings.model_validate(
        {
            "data_dir": str(tmp_path / "data"),
            "backends": {"scripted": {"type": "scripted"}},
            "routes": {"smollm2-135m-instruct": "scripted"},
            "platform": {"metrics_need_key": False},
        }
    )
    with TestClient(create_app(settings, backends={"scripted": ScriptedBackend()})) as client:
        response = client.get("/metrics")
    assert response.status_code == 200
    assert "openscope_engine_" not in response.text


def test_every_engine_field_has_a_metric() -> None:
    assert set(GAUGES) | set(COUNTERS) == {f.name for f in fields(EngineMetrics)}
    assert set(GAUGES).isdisjoint(COUNTERS)
