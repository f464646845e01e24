"""The backends' engine metrics in Prometheus text format, read from the engine at scrape
time: nothing is recorded between scrapes and nothing lives at module level."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from openscope.engine import Engine

PREFIX = "openscope_engine_"

# EngineMetrics field -> the help text of its gauge.
GAUGES = {
    "queue_depth": "Requests waiting for a free sequence.",
    "running_sequences": "Sequences being prefilled or decoded.",
    "parallel_sequences": "Sequences the engine can run at once.",
    "kv_used_tokens": "KV cache cells held by running sequences and the prefix cache.",
    "kv_reserved_tokens": "KV cache cells counted against admission: held or promised.",
    "kv_capacity_tokens": "KV cache cells the engine has in all.",
    "cached_prefixes": "Entries in the prefix cache.",
    "tokens_per_second": "Tokens generated per second over the last few seconds.",
}

# EngineMetrics field (ending in _total) -> the help text of its counter.
COUNTERS = {
    "cache_hit_tokens_total": "Prompt tokens served from the prefix cache.",
    "prompt_tokens_total": "Prompt tokens of admitted requests.",
    "generated_tokens_total": "Tokens generated.",
    "rejected_total": "Requests refused because the engine was overloaded.",
}


class EngineCollector(Collector):
    """One sample per backend that reports an engine, labelled with the backend's name."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def collect(self) -> Iterator[Metric]:
        snapshots = self._engine.metrics()
        if not snapshots:
            return
        for field, help_text in GAUGES.items():
            gauge = GaugeMetricFamily(PREFIX + field, help_text, labels=["backend"])
            for backend, snapshot in snapshots.items():
                gauge.add_metric([backend], getattr(snapshot, field))
            yield gauge
        for field, help_text in COUNTERS.items():
            counter = CounterMetricFamily(PREFIX + field, help_text, labels=["backend"])
            for backend, snapshot in snapshots.items():
                counter.add_metric([backend], getattr(snapshot, field))
            yield counter


def metrics_registry(
    engine: Engine, registry: CollectorRegistry | None = None
) -> CollectorRegistry:
    """The app's own registry (a new one unless given), with the engine collector in it."""
    if registry is None:
        registry = CollectorRegistry()
    registry.register(EngineCollector(engine))
    return registry
