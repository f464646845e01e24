"""What every finished request tells the operator, from the meter's one record per request:
Prometheus series per model and API (requests by status, tokens by kind, time to first
token, latency; rate-limit refusals by reason) and one JSON-ready log line (request id,
workspace, key id, model, status, tokens, latency). No label and no log line ever holds a
key: records name the key by its id."""

from __future__ import annotations

import bisect
import json
import logging
import math
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from openscope.core.billing import UsageRecord, usage_record
from openscope.core.errors import RATE_LIMIT_ANSWERS
from openscope.core.events import Usage
from openscope.core.ids import request_id
from openscope.core.quota import LimitKind
from openscope.engine.admission import LimitedCall
from openscope.engine.stages.meter import UsageSink

log = logging.getLogger("openscope.requests")

PREFIX = "openscope_"
# Seconds: the embedded model's first token lands in tens of ms, long answers run minutes.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
TOKEN_KINDS = ("input", "output", "reasoning", "cached", "cache_creation")


class _Histogram:
    """Bucket counts and a sum, as Prometheus histograms keep them."""

    __slots__ = ("counts", "total")

    def __init__(self) -> None:
        self.counts = [0] * (len(LATENCY_BUCKETS) + 1)  # the last: above every bound
        self.total = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(LATENCY_BUCKETS, value)] += 1
        self.total += value

    def buckets(self) -> list[tuple[str, float]]:
        cumulative = 0
        out: list[tuple[str, float]] = []
        for bound, count in zip((*LATENCY_BUCKETS, math.inf), self.counts, strict=True):
            cumulative += count
            out.append(("+Inf" if bound == math.inf else repr(float(bound)), cumulative))
        return out


class _Series:
    """One model and API's request series."""

    __slots__ = ("latency", "statuses", "tokens", "ttft")

    def __init__(self) -> None:
        self.statuses: dict[str, int] = {}
        self.tokens = [0] * len(TOKEN_KINDS)
        self.ttft = _Histogram()
        self.latency = _Histogram()


class RequestMetrics(Collector):
    """The request series. Counted in plain numbers on the event loop (no lock, no label
    lookup per request: one lookup of the model and API's series) and read into
    Prometheus families at scrape time."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._series: dict[tuple[str, str], _Series] = {}
        self._refusals: dict[tuple[str, str, str], int] = defaultdict(int)
        registry.register(self)

    def record_nowait(self, record: UsageRecord) -> None:
        labels = (record.model, record.api)
        series = self._series.get(labels)
        if series is None:
            series = self._series[labels] = _Series()
        statuses = series.statuses
        statuses[record.status] = statuses.get(record.status, 0) + 1
        tokens = series.tokens
        if record.input_tokens:
            tokens[0] += record.input_tokens
        if record.output_tokens:
            tokens[1] += record.output_tokens
        if record.reasoning_tokens:
            tokens[2] += record.reasoning_tokens
        if record.cached_tokens:
            tokens[3] += record.cached_tokens
        if record.cache_creation_tokens:
            tokens[4] += record.cache_creation_tokens
        if record.ttft_ms is not None:
            series.ttft.observe(record.ttft_ms / 1000)
        series.latency.observe(record.latency_ms / 1000)

    def refused(self, model: str, api: str, reason: LimitKind) -> None:
        self._refusals[(model, api, str(reason))] += 1

    def collect(self) -> Iterator[Metric]:
        labels = ["model", "api"]
        every = list(self._series.items())
        requests = CounterMetricFamily(
            PREFIX + "requests",
            "Requests the limits answered, by how they ended.",
            labels=[*labels, "status"],
        )
        for (model, api), series in every:
            for status, count in list(series.statuses.items()):
                requests.add_metric([model, api, status], count)
        yield requests
        tokens = CounterMetricFamily(
            PREFIX + "tokens", "Tokens of finished requests, by kind.", labels=[*labels, "kind"]
        )
        for (model, api), series in every:
            for kind, count in zip(TOKEN_KINDS, series.tokens, strict=True):
                if count:  # a kind no request has used yet has no series
                    tokens.add_metric([model, api, kind], count)
        yield tokens
        for name, help_text, attribute in (
            (
                "time_to_first_token_seconds",
                "Time from the request to its first generated content.",
                "ttft",
            ),
            ("request_duration_seconds", "Time from the request to its last event.", "latency"),
        ):
            family = HistogramMetricFamily(PREFIX + name, help_text, labels=labels)
            for (model, api), series in every:
                histogram: _Histogram = getattr(series, attribute)
                if any(histogram.counts):  # nothing observed yet: no series
                    family.add_metric([model, api], histogram.buckets(), histogram.total)
            yield family
        refusals = CounterMetricFamily(
            PREFIX + "rate_limited",
            "Requests refused by a rate limit, by what ran out.",
            labels=[*labels, "reason"],
        )
        for key, count in list(self._refusals.items()):
            refusals.add_metric(list(key), count)
        yield refusals


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

    def __call__(self, call: LimitedCall, reason: LimitKind) -> None:
        self._metrics.refused(call.model, call.api, reason)
        code, _ = RATE_LIMIT_ANSWERS[reason]
        self._sink.record_nowait(
            usage_record(
                request_id=call.request_id or request_id(),
                created_at_ms=round(self._clock() * 1000),
                workspace=call.principal.workspace,
                key_id=call.principal.key_id,
                model=call.model,
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
