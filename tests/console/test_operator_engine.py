"""GET /admin/v1/engine: the engine's state and the request counters as JSON, read from the
same registry /metrics reads, for an admin key only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from openscope.backends.base import EngineMetrics
from openscope.core.accounts import Scope
from openscope.core.billing import usage_record
from openscope.core.events import Usage
from openscope.core.quota import LimitKind
from openscope.server.admin.engine_state import engine_state, engine_state_router
from openscope.server.auth import ApiKeyAuth
from openscope.server.keys import KeyDirectory
from openscope.server.metrics import COUNTERS, GAUGES, EngineCollector
from openscope.server.observability import RequestMetrics
from openscope.store import Store, create_engine, sqlite_url

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
ADMIN = "sk-admin-test"
USER = "sk-user-test"


class Snapshots:
    """What EngineCollector reads of the engine: its backends' snapshots."""

    def __init__(self, snapshots: dict[str, EngineMetrics]) -> None:
        self.snapshots = snapshots

    def metrics(self) -> dict[str, EngineMetrics]:
        return self.snapshots


def record(status: str, model: str = "qwen-plus") -> object:
    return usage_record(
        request_id="req-1",
        created_at_ms=0,
        workspace="default",
        key_id="key-1",
        model=model,
        api="chat",
        status=status,
        usage=Usage(input_tokens=10, output_tokens=4),
        price=None,
    )


@pytest.fixture
def registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    metrics = RequestMetrics(registry)
    for status in ("ok", "ok", "limit_requests"):
        metrics.record_nowait(record(status))  # type: ignore[arg-type]
    registry.register(EngineCollector(Snapshots({"embedded": SNAPSHOT})))  # type: ignore[arg-type]
    return registry


@pytest.fixture
def client(tmp_path: Path, registry: CollectorRegistry) -> Iterator[TestClient]:
    store = Store(create_engine(sqlite_url(tmp_path)))
    directory = KeyDirectory(store, b"pepper", configured=[USER], admin=[ADMIN], stored=False)
    app = FastAPI()
    app.include_router(engine_state_router(registry, ApiKeyAuth(directory, Scope.ADMIN)))
    with TestClient(app) as client:
        yield client


def test_engine_fields_are_every_gauge_and_counter() -> None:
    registry = CollectorRegistry()
    registry.register(EngineCollector(Snapshots({"embedded": SNAPSHOT})))  # type: ignore[arg-type]
    state = engine_state(registry)
    assert state["backends"]["embedded"] == {
        field: getattr(SNAPSHOT, field) for field in (*GAUGES, *COUNTERS)
    }
    assert state["requests"] == [] and state["rate_limited"] == []


def test_no_backend_with_an_engine_is_an_empty_table() -> None:
    registry = CollectorRegistry()
    registry.register(EngineCollector(Snapshots({})))  # type: ignore[arg-type]
    assert engine_state(registry)["backends"] == {}


def test_the_admin_key_reads_the_state(client: TestClient, registry: CollectorRegistry) -> None:
    answer = client.get("/admin/v1/engine", headers={"Authorization": f"Bearer {ADMIN}"})
    assert answer.status_code == 200
    body = answer.json()
    assert body["object"] == "engine.state"
    assert body["backends"]["embedded"]["queue_depth"] == 3
    assert body["backends"]["embedded"]["tokens_per_second"] == 42.5
    assert body["backends"]["embedded"]["cache_hit_tokens_total"] == 700
    counts = {row["status"]: row["count"] for row in body["requests"]}
    assert counts == {"ok": 2, "limit_requests": 1}
    assert {"model": "qwen-plus", "api": "chat", "kind": "input", "count": 30} in body["tokens"]


def test_rate_limit_refusals_are_rows_by_reason(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    metrics = RequestMetrics(registry)

    for _ in range(2):
        metrics.refused("qwen-plus", "chat", LimitKind.REQUESTS)
    metrics.refused("qwen-plus", "chat", LimitKind.TOKENS)
    rows = engine_state(registry)["rate_limited"]
    by_reason = {row["reason"]: row["count"] for row in rows}
    assert by_reason == {str(LimitKind.REQUESTS): 2, str(LimitKind.TOKENS): 1}


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer sk-wrong"}, 401),
        ({"Authorization": f"Bearer {USER}"}, 403),
    ],
)
def test_anyone_else_is_refused(client: TestClient, headers: dict[str, str], status: int) -> None:
    answer = client.get("/admin/v1/engine", headers=headers)
    assert answer.status_code == status
    assert "error" in answer.json()
    assert "backends" not in answer.json()
