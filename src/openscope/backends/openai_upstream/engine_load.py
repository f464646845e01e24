"""How many requests an engine says it holds, read from its Prometheus page: the sum of the
dialect's load gauges (running and waiting) over every series (vLLM has one per
data-parallel engine, SGLang and vLLM label them by model). A page that lacks one of the
gauges, or is not Prometheus text, reports nothing: the caller counts only its own."""

from __future__ import annotations

import math

from prometheus_client.parser import text_string_to_metric_families


def reported_load(page: bytes, gauges: tuple[str, ...]) -> int | None:
    if not gauges:
        return None
    try:
        text = page.decode("utf-8")
    except UnicodeDecodeError:
        return None
    wanted = set(gauges)
    totals: dict[str, float] = {}
    try:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name in wanted:
                    totals[sample.name] = totals.get(sample.name, 0.0) + sample.value
    except (ValueError, TypeError, IndexError):
        return None  # not Prometheus text (an HTML error page, JSON, a cut body)
    if set(totals) != wanted:
        return None
    total = sum(totals.values())
    if not math.isfinite(total) or total < 0:
        return None
    return round(total)
