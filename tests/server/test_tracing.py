"""OpenTelemetry traces: off by default; on, each request is one trace whose request span
holds `auth`, `admit` and `backend`."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from openscope.backends.scripted import ScriptedBackend
from openscope.server import create_app
from openscope.server.tracing import otlp_tracer
from openscope.settings import Settings

BODY = {"model": "qwen-plus", "messages": [{"role": "user", "content": "hi there"}]}


def test_a_request_is_one_trace_of_auth_admit_and_backend(tmp_path: object) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    settings = Settings.model_validate(
        {
            "api_keys": ["sk-test"],
            "data_dir": str(tmp_path),
            "backends": {"scripted": {"type": "scripted"}},
            "routes": {"smollm2-135m-instruct": "scripted"},
            "aliases": {"qwen-plus": "smollm2-135m-instruct"},
        }
    )
    app = create_app(
        settings, backends={"scripted": ScriptedBackend()}, tracer=provider.get_tracer("t")
    )
    with TestClient(app, headers={"Authorization": "Bearer sk-test"}) as client:
        assert client.post("/compatible-mode/v1/chat/completions", json=BODY).status_code == 200
    spans = {span.name: span for span in exporter.get_finished_spans()}
    request = spans["POST /compatible-mode/v1/chat/completions"]
    assert request.attributes is not None
    assert request.attributes["http.response.status_code"] == 200
    for name in ("auth", "admit", "backend"):
        span = spans[name]
        assert span.context is not None and request.context is not None
        assert span.context.trace_id == request.context.trace_id, name
        assert span.parent is not None and span.parent.span_id == request.context.span_id, name
    assert spans["admit"].attributes is not None and spans["admit"].attributes["openscope.admitted"]
    assert spans["auth"].attributes is not None
    assert "sk-test" not in str(dict(spans["auth"].attributes))


def test_spans_go_to_the_otlp_endpoint() -> None:
    received: list[tuple[str, str | None, bytes]] = []

    class Collector(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            received.append((self.path, self.headers["content-type"], body))
            self.send_response(200)
            self.send_header("content-type", "application/x-protobuf")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    collector = HTTPServer(("127.0.0.1", 0), Collector)
    thread = threading.Thread(target=collector.serve_forever, daemon=True)
    thread.start()
    try:
        tracer, flush = otlp_tracer(f"http://127.0.0.1:{collector.server_port}/v1/traces")
        with tracer.start_as_current_span("probe"):
            pass
        flush()
    finally:
        collector.shutdown()
    ((path, content_type, body),) = received
    assert path == "/v1/traces" and content_type == "application/x-protobuf"
    assert b"probe" in body and b"openscope" in body  # the span and the service name


def test_traces_are_off_by_default(tmp_path: object) -> None:
    settings = Settings.model_validate({"data_dir": str(tmp_path)})
    app = create_app(settings, backends={"embedded": ScriptedBackend()})
    assert not any("Tracing" in str(m.cls) for m in app.user_middleware)


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENSCOPE_DATABASE_URL", raising=False)
