"""The request log line: with `log_format = "json"`, one JSON object whose fields are the
request's (never its key)."""

from __future__ import annotations

import json
import logging

import pytest

from openscope.core.billing import UsageRecord
from openscope.server.observability import AccessLog, JsonFormatter


def test_a_request_line_in_json(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="openscope.requests")
    record = UsageRecord(
        request_id="req-1",
        created_at_ms=0,
        workspace="team-a",
        key_id="key-0123",
        model="qwen-plus",
        api="chat",
        status="ok",
        input_tokens=12,
        output_tokens=3,
        latency_ms=40,
        ttft_ms=9,
    )
    AccessLog().record_nowait(record)
    (logged,) = [r for r in caplog.records if r.name == "openscope.requests"]
    line = json.loads(JsonFormatter().format(logged))
    assert line["level"] == "info" and line["logger"] == "openscope.requests"
    assert {k: line[k] for k in ("request_id", "workspace", "key_id", "model", "status")} == {
        "request_id": "req-1",
        "workspace": "team-a",
        "key_id": "key-0123",
        "model": "qwen-plus",
        "status": "ok",
    }
    assert (line["input_tokens"], line["output_tokens"], line["latency_ms"]) == (12, 3, 40)
    assert "req-1" in line["message"]
