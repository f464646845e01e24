"""What every finished request tells the operator, from the meter's one record per request:
Prometheus series per model and API (requests by status, tokens by kind, time to first
token, latency; rate-limit refusals by reason) and one JSON-ready log line (request id,
workspace, key id, model, status, tokens, latency). No label and no log line ever holds a
key: records name the key by its id."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram

from openscope.core.billing import UsageRecord, usage_record
from openscope.core.call import Call
from openscope.core.errors import RATE_LIMIT_ANSWERS
from openscope.core.events import Usage
from openscope.core.ids import request_id
from openscope.core.quota import LimitKind
from openscope.engine.stages.meter import UsageSink

log = logging.getLogger("openscope.requests")

PREFIX = "openscope_"
# Seconds: the embedded model's first token lands in tens of ms, long answers run minutes.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
TOKEN_KINDS = ("input", "output", "reasoning", "cached", "cache_creation")


@dataclass(frozen=True, slots=True)
class _Series:
    requests: Counter
    tokens: tuple[Counter, ...]
    ttft: Histogram
    latency: Histogram


class RequestMetrics:
    """The request series, registered in the app's own registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        labels = ["model", "api"]
        self.requests = Counter(
            PREFIX + "requests",
            "Requests that reached a model, by how they ended.",
            [*labels, "status"],
            registry=registry,
        )
        self.tokens = Counter(
            PREFIX + "tokens",
            "Tokens of finished requests, by kind.",
            [*labels, "kind"],
            registry=registry,
        )
        self.ttft = Histogram(
            PREFIX + "time_to_first_token_seconds",
            "Time from the request to its first generated content.",
            labels,
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.latency = Histogram(
            PREFIX + "request_duration_seconds",
            "Time from the request to its last event.",
            labels,
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.refusals = Counter(
            PREFIX + "rate_limited",
            "Requests refused by a rate limit, by what ran out.",
            [*labels, "reason"],
            registry=registry,
        )

        # The series of one (model, api, status), looked up once: `labels()` takes a lock
        # and builds a key on every call.
        self._series: dict[tuple[str, str, str], _Series] = {}

    def _of(self, record: UsageRecord) -> _Series:
        key = (record.model, record.api, record.status)
        series = self._series.get(key)
        if series is None:
            labels = key[:2]
            series = _Series(
                requests=self.requests.labels(*key),
                tokens=tuple(self.tokens.labels(*labels, kind) for kind in TOKEN_KINDS),
                ttft=self.ttft.labels(*labels),
                latency=self.latency.labels(*labels),
            )
            self._series[key] = series
        return series

    def record_nowait(self, record: UsageRecord) -> None:
        series = self._of(record)
        series.requests.inc()
        counts = (
            record.input_tokens,
            record.output_tokens,
            record.reasoning_tokens,
            record.cached_tokens,
            record.cache_creation_tokens,
        )
        for counter, count in zip(series.tokens, counts, strict=True):
            if count:
                counter.inc(count)
        if record.ttft_ms is not None:
            series.ttft.observe(record.ttft_ms / 1000)
        series.latency.observe(record.latency_ms / 1000)

    def refused(self, call: Call, reason: LimitKind) -> None:
        self.refusals.labels(call.request.model, call.api, str(reason)).inc()


class AccessLog:
    """One `openscope.requests` line per finished request, its fields also as `extra`
    attributes (a JSON formatter writes them as fields)."""

    def record_nowait(self, record: UsageRecord) -> None:
        if not log.isEnabledFor(logging.INFO):
            return
        fields = {
            "request_id": record.request_id,
            "workspace": record.workspace,
            "key_id": record.key_id,
            "model": record.model,
            "api": record.api,
            "status": record.status,
            "input_tokens": record.input_tokens,
            "output_tokens": record.output_tokens,
            "cached_tokens": record.cached_tokens,
            "latency_ms": record.latency_ms,
            "ttft_ms": record.ttft_ms,
        }
        log.info(
            "%s %s %s %s in=%d out=%d %dms",
            record.request_id,
            record.api,
            record.model,
            record.status,
            record.input_tokens,
            record.output_tokens,
            record.latency_ms,
            extra={"fields": fields},
        )


class Refusals:
    """A call a rate limit refused: counted in the metrics, and one ledger row of its own
    (no tokens, the 429's code as its status), so usage per key shows what was refused."""

    def __init__(
        self, metrics: RequestMetrics, sink: UsageSink, clock: Callable[[], float]
    ) -> None:
        self._metrics = metrics
        self._sink = sink
        self._clock = clock

    def __call__(self, call: Call, reason: LimitKind) -> None:
        self._metrics.refused(call, reason)
        code, _ = RATE_LIMIT_ANSWERS[reason]
        self._sink.record_nowait(
            usage_record(
                request_id=call.request_id or request_id(),
                created_at_ms=round(self._clock() * 1000),
                workspace=call.principal.workspace,
                key_id=call.principal.key_id,
                model=call.request.model,
                api=call.api,
                status=code,
                usage=Usage(),
                price=None,
            )
        )


class FanOut:
    """Hands each record to every sink; one sink failing never stops the others."""

    def __init__(self, sinks: Sequence[UsageSink]) -> None:
        self._sinks = tuple(sinks)

    def record_nowait(self, record: UsageRecord) -> None:
        for sink in self._sinks:
            try:
                sink.record_nowait(record)
            except Exception:
                logging.getLogger("openscope.usage").exception("a usage sink failed")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and a request's fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **getattr(record, "fields", {}),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)
