"""OpenTelemetry traces, off unless `[platform] otlp_endpoint` names a collector: one span
per HTTP request, and inside it `auth`, `admit` and `backend`, exported over OTLP/HTTP in
batches. The tracer is built here and handed to what makes spans (no global provider is
set); off, nothing makes a span and no request pays for one.

The SDK and the exporter are the `otel` extra (`pip install openscope[otel]`); only the
API is a dependency."""

from __future__ import annotations

from collections.abc import Callable

from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openscope.settings import SettingsError

SERVICE_NAME = "openscope"


def otlp_tracer(endpoint: str) -> tuple[Tracer, Callable[[], None]]:
    """A tracer exporting to `endpoint` (an OTLP/HTTP traces URL) and how to flush it."""
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        raise SettingsError(
            "platform.otlp_endpoint needs the OpenTelemetry SDK: pip install 'openscope[otel]'"
        ) from None
    provider = TracerProvider(resource=Resource.create({"service.name": SERVICE_NAME}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    return provider.get_tracer("openscope"), provider.shutdown


class TracingMiddleware:
    """The request's span, current while the app handles it, so the spans made inside are
    its children."""

    def __init__(self, app: ASGIApp, tracer: Tracer) -> None:
        self.app = app
        self.tracer = tracer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        with self.tracer.start_as_current_span(
            f"{method} {path}",
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "url.path": path},
        ) as span:
            request_id = scope.get("state", {}).get("request_id")
            if request_id:
                span.set_attribute("openscope.request_id", request_id)

            async def send_traced(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status = int(message["status"])
                    span.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        span.set_status(Status(StatusCode.ERROR))
                await send(message)

            await self.app(scope, receive, send_traced)
