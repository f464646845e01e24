"""`GET /admin/v1/engine`: what `/metrics` says about the engine and the requests, as JSON
for the console's operator view. Read from the same Prometheus registry at ask time, so the
two never disagree and nothing is kept between asks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from prometheus_client import CollectorRegistry
from pydantic import BaseModel, ConfigDict

from openscope.core.principal import Principal
from openscope.protocols import openai_chat
from openscope.protocols.http import route_class
from openscope.server.admin.routes import ADMIN_PREFIX, answers
from openscope.server.metrics import PREFIX as ENGINE_PREFIX
from openscope.server.observability import PREFIX as REQUEST_PREFIX

# Request families: sample name -> the key of its rows in the answer. Counters' samples
# carry prometheus_client's `_total` suffix.
REQUEST_SAMPLES = {
    f"{REQUEST_PREFIX}requests_total": "requests",
    f"{REQUEST_PREFIX}tokens_total": "tokens",
    f"{REQUEST_PREFIX}rate_limited_total": "rate_limited",
}


class CounterRow(BaseModel):
    """One counter's labels (model, api, status, kind or reason) and its count."""

    model_config = ConfigDict(extra="allow")

    count: int


class EngineStateAnswer(BaseModel):
    object: Literal["engine.state"]
    # backend name -> the engine's fields (queue depth, running sequences, KV use, ...)
    backends: dict[str, dict[str, float]]
    requests: list[CounterRow]
    tokens: list[CounterRow]
    rate_limited: list[CounterRow]


def engine_state(registry: CollectorRegistry) -> dict[str, Any]:
    """Each backend's engine fields by name (as EngineMetrics has them), and the request
    counters since the server started as rows of their labels and a count."""
    backends: dict[str, dict[str, float]] = {}
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in REQUEST_SAMPLES.values()}
    for family in registry.collect():
        for sample in family.samples:
            if sample.name.startswith(ENGINE_PREFIX):
                backend = sample.labels.get("backend", "")
                field = sample.name.removeprefix(ENGINE_PREFIX)
                backends.setdefault(backend, {})[field] = sample.value
            elif sample.name in REQUEST_SAMPLES:
                rows[REQUEST_SAMPLES[sample.name]].append(
                    {**sample.labels, "count": int(sample.value)}
                )
    return {"object": "engine.state", "backends": backends, **rows}


def engine_state_router(
    registry: CollectorRegistry, authenticate: Callable[[Request], Awaitable[Principal]]
) -> APIRouter:
    """The route, for an admin key (`authenticate` holds it to the admin scope)."""
    router = APIRouter(
        prefix=ADMIN_PREFIX,
        route_class=route_class(openai_chat.ERRORS.response),
        dependencies=[Depends(authenticate)],
        tags=["admin"],
    )

    @router.get(
        "/engine",
        summary="The engine's live state and the request counters",
        **answers(EngineStateAnswer),
    )
    async def engine() -> dict[str, Any]:
        # Async on purpose, as /metrics: the engine is read on the event loop that drives it.
        return engine_state(registry)

    return router
