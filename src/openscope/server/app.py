"""`create_app(settings)`: every service is built here and hung on the app; there is no
module-level state."""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import AsyncIterator, Callable, Collection, Mapping
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from opentelemetry.trace import Tracer
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from openscope.backends.base import Backend, BackendFeatures, BackendServices
from openscope.backends.registry import BackendConfigError, BackendRegistry
from openscope.console import console_routes
from openscope.console.operator_routes import operator_router
from openscope.core.accounts import Scope
from openscope.core.billing import Price
from openscope.core.builtin_tools import BuiltinToolKind
from openscope.core.catalog import Catalog, default_catalog
from openscope.core.errors import NotFound, OpenScopeError
from openscope.core.rules.sizes import generation_body_limit
from openscope.engine import Engine, Route, Router, ToolLimits
from openscope.engine.embedding_gate import EmbeddingGate
from openscope.engine.responses import Responses
from openscope.engine.usage_writer import UsageWriter, keep_ledger
from openscope.protocols import (
    anthropic_messages,
    openai_chat,
    openai_embeddings,
    openai_files,
    openai_responses,
)
from openscope.protocols.http import ProtocolContext, ProtocolErrors, json_response, request_id_of
from openscope.server.admin import ADMIN_PREFIX, AdminService, admin_router, admin_schema
from openscope.server.admin.engine_state import engine_state_router
from openscope.server.auth import ApiKeyAuth
from openscope.server.chores import Chores, shutdown_step
from openscope.server.embeddings import ServedEmbedder, build_embeddings
from openscope.server.images import build_image_fetcher
from openscope.server.keys import LAST_USED_GRANULARITY
from openscope.server.knowledge import build_knowledge_service
from openscope.server.metrics import metrics_registry
from openscope.server.observability import AccessLog, FanOut, Refusals, RequestMetrics
from openscope.server.openapi import OPENAPI_PATH, docs_router, openapi_document
from openscope.server.platform import build_key_directory, build_limits
from openscope.server.priority import lower_serving_priority
from openscope.server.request_id import RequestIdMiddleware
from openscope.server.tools import (
    EXPIRY_INTERVAL_SECONDS,
    build_tool_runners,
    close_tool_runners,
    expire_idle_tools,
)
from openscope.server.tracing import TracingMiddleware, otlp_tracer
from openscope.settings import Settings, SettingsError
from openscope.store import Store, create_engine, migrate, sqlite_url

log = logging.getLogger("openscope.server")


def errors_for(path: str) -> ProtocolErrors:
    """The error table of the API a path belongs to; chat's for paths no API claims."""
    if anthropic_messages.claims(path):
        return anthropic_messages.ERRORS
    if openai_responses.claims(path):
        return openai_responses.ERRORS
    if openai_embeddings.claims(path):
        return openai_embeddings.ERRORS
    if openai_files.claims(path):
        return openai_files.ERRORS
    return openai_chat.ERRORS


def build_backends(settings: Settings, registry: BackendRegistry) -> dict[str, Backend]:
    """Raises `SettingsError` naming the backend instance whose type or options are wrong."""
    backends = {}
    services = BackendServices(images=build_image_fetcher(settings.image_fetch))
    for name, backend in settings.backends.items():
        try:
            backends[name] = registry.create(backend.type, backend.options, services)
        except BackendConfigError as error:
            raise SettingsError(f"backend {name!r}: {error}") from None
    return backends


def build_router(
    settings: Settings,
    catalog: Catalog,
    backends: Mapping[str, Backend],
    loop_tools: Collection[BuiltinToolKind] = frozenset(),
) -> Router:
    """`loop_tools`: the built-in tools the server's tool loop runs (for any route whose
    backend can call functions)."""
    routes = {}
    for name, route in settings.route_table().items():
        if route.backend not in backends:
            raise ValueError(f"route {name!r} names backend {route.backend!r}, which is not set up")
        routes[name] = Route(backend=route.backend, model=route.model or name)

    def features(route: Route) -> BackendFeatures:
        return backends[route.backend].features(route.model)

    return Router(
        catalog,
        routes,
        settings.aliases,
        created=int(time.time()),
        features=features,
        loop_tools=loop_tools,
    )


def create_app(
    settings: Settings,
    *,
    backends: Mapping[str, Backend] | None = None,
    catalog: Catalog | None = None,
    tracer: Tracer | None = None,
    generated_key: str | None = None,
    embedders: Mapping[str, ServedEmbedder] | None = None,
) -> FastAPI:
    """`backends` replaces the ones settings describe (tests pass a scripted backend), and
    `embedders` the embedding models (tests pass scripted ones);
    `tracer` the OTLP one `[platform] otlp_endpoint` would make (tests pass one that keeps
    its spans); `generated_key` the key `serve` made for this run, which the console hands
    to its page on this machine (`console/local_key.py`)."""
    built = (
        dict(backends)
        if backends is not None
        else build_backends(settings, BackendRegistry.with_defaults())
    )
    catalog = catalog or default_catalog()
    platform = settings.platform
    flush_traces: Callable[[], None] | None = None
    if tracer is None and platform.otlp_endpoint:
        tracer, flush_traces = otlp_tracer(platform.otlp_endpoint)
    store = Store(create_engine(settings.database_url or sqlite_url(settings.data_dir)))
    registry = CollectorRegistry()
    request_metrics = RequestMetrics(registry)
    usage_writer = UsageWriter(store, linger=platform.usage_write_seconds)
    # Every finished call, and every refused one: the ledger, the metrics, the log.
    usage = FanOut([usage_writer, request_metrics, AccessLog()])
    # One set of admissions for every API: generation and embeddings count in the same
    # limiter, under the same scopes.
    admissions = (
        build_limits(
            platform,
            catalog,
            on_refusal=Refusals(request_metrics, usage, time.time),
            tracer=tracer,
        )
        if platform.enabled
        else None
    )
    prices = {model: Price(p.input, p.output) for model, p in platform.prices.items()}
    # None when [embeddings] enabled = false; unlimited and unmetered when the platform is
    # off, as generation is.
    embeddings = build_embeddings(
        settings.embeddings,
        gate=EmbeddingGate(admissions, usage, prices=prices) if platform.enabled else None,
        embedders=embedders,
    )
    knowledge = build_knowledge_service(settings, store, embeddings)
    tool_runners = build_tool_runners(settings, knowledge=knowledge)
    tools = settings.tools
    engine = Engine(
        build_router(settings, catalog, built, loop_tools=frozenset(tool_runners)),
        built,
        store,
        retention_seconds=settings.response_retention_seconds,
        admissions=admissions,
        usage=usage if platform.enabled else None,
        prices=prices,
        tracer=tracer,
        tool_runners=tool_runners,
        tool_limits=ToolLimits(
            max_rounds=tools.max_rounds,
            tool_timeout=tools.tool_timeout_seconds,
            total_tool_time=tools.total_tool_seconds,
        ),
    )
    responses = Responses(store)
    directory = build_key_directory(settings, store)
    metrics_registry(engine, registry)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        await migrate(store.engine)
        if knowledge is not None:
            await knowledge.start()  # opens its index: stops here without pgvector
        await engine.start()
        lower_serving_priority(settings.serving_nice)
        chores = Chores()
        chores.every(
            settings.purge_interval_seconds, "purging expired responses", responses.purge_expired
        )
        chores.every(
            LAST_USED_GRANULARITY, "writing the keys' last-used times", directory.write_last_used
        )
        chores.every(
            platform.rollup_interval_seconds,
            "usage ledger: rollup or purge",
            lambda: keep_ledger(
                store, retention_days=platform.usage_retention_days, now=time.time()
            ),
        )
        if knowledge is not None:
            chores.every(
                settings.knowledge.sweep_interval_seconds,
                "knowledge: expired files",
                knowledge.sweep_expired_files,
            )
        if tool_runners:
            chores.every(
                EXPIRY_INTERVAL_SECONDS,
                "built-in tools: idle containers",
                lambda: expire_idle_tools(tool_runners),
            )
        # What startup built (modules, the catalogue, the migrations' machinery, the app)
        # lives as long as the server: left out of the cyclic collector, a full collection
        # no longer walks it every time (given back when the server stops).
        gc.freeze()
        app.state.ready = True
        try:
            yield
        finally:
            gc.unfreeze()
            app.state.ready = False
            await chores.stop()
            # Every step runs even if one before it failed: the engine must stop and the
            # queued usage be written whatever became of the keys' last-used times.
            await shutdown_step("writing the keys' last-used times", directory.write_last_used())
            await shutdown_step("stopping the engine", engine.close())
            await shutdown_step("closing the built-in tools", close_tool_runners(tool_runners))
            if knowledge is not None:  # before the embedder its worker uses, and the store
                await shutdown_step("closing the vector stores", knowledge.aclose())
            if embeddings is not None:
                await shutdown_step("closing the embedding models", embeddings.close())
            # after the engine: the last calls' records are queued by then
            await shutdown_step("writing the queued usage", usage_writer.close())
            if admissions is not None:
                await shutdown_step("settling with the rate limiter", admissions.drain())
                await shutdown_step("closing the rate limiter", admissions.limiter.close())
            await shutdown_step("closing the store", store.close())
            if flush_traces is not None:
                flush_traces()

    app = FastAPI(
        title="openscope",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.store = store
    app.state.usage_writer = usage_writer
    app.state.embeddings = embeddings
    app.state.knowledge = knowledge
    app.state.ready = False
    if tracer is not None:
        app.add_middleware(TracingMiddleware, tracer=tracer)  # inside: the id is set first
    app.add_middleware(RequestIdMiddleware)

    context = ProtocolContext(
        service=engine,
        responses=responses,
        authenticate=ApiKeyAuth(directory, Scope.INFERENCE, tracer),
        max_body_bytes=settings.max_body_bytes,
        max_generation_body_bytes=min(
            settings.max_body_bytes,
            settings.max_generation_body_bytes
            or generation_body_limit(
                (model.spec for model in engine.models()), settings.max_body_bytes
            ),
        ),
    )
    app.include_router(openai_chat.build_router(context))
    app.include_router(anthropic_messages.build_router(context))
    app.include_router(openai_responses.build_router(context))
    if knowledge is not None:
        app.include_router(
            openai_files.build_router(
                context,
                knowledge,
                knowledge,
                max_file_bytes=settings.knowledge.max_file_bytes,
            )
        )
    if embeddings is not None:
        app.include_router(
            openai_embeddings.build_router(
                embeddings, context.authenticate, settings.max_body_bytes
            )
        )
    if platform.enabled:
        admin_auth = ApiKeyAuth(directory, Scope.ADMIN)
        admin = admin_router(AdminService(store, directory), admin_auth)
        app.include_router(admin)
        engine_routes = engine_state_router(registry, admin_auth)
        app.include_router(engine_routes)
        schemas: list[dict[str, object]] = []  # built on first ask: it takes a while

        @app.get(f"{ADMIN_PREFIX}/openapi.json", include_in_schema=False)
        async def admin_openapi() -> Response:
            if not schemas:
                schemas.append(admin_schema(admin, engine_routes))
            return json_response(schemas[0])

    app.include_router(operator_router())
    # The document and its page need no key, as Model Studio's API reference is public:
    # they say what the routes accept, nothing of this server's keys, models or data.
    documents: list[dict[str, object]] = []  # built on first ask, when every route is in

    @app.get(OPENAPI_PATH, include_in_schema=False)
    async def openapi() -> Response:
        if not documents:
            documents.append(openapi_document(app.routes, errors_for))
        return json_response(documents[0])

    app.include_router(docs_router())
    metrics_auth = ApiKeyAuth(directory, Scope.METRICS)

    @app.get("/health")
    async def health(request: Request) -> Response:
        if not request.app.state.ready:
            return json_response({"status": "starting"}, status=503)
        failed = engine.unhealthy()
        if failed:
            return json_response({"status": "unhealthy", "backends": failed}, status=503)
        return json_response({"status": "ok"})

    @app.get("/metrics")
    async def metrics(request: Request) -> Response:
        if settings.platform.metrics_need_key:
            try:
                await metrics_auth(request)
            except OpenScopeError as error:
                return openai_chat.ERRORS.response(error, request_id_of(request))
        # Async on purpose: the engine is read on the event loop that drives it.
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    # Last: the API routes above are matched first; the console claims only `/` and
    # `/console/...`.
    app.router.routes.extend(console_routes(generated_key=generated_key))

    @app.exception_handler(StarletteHTTPException)
    async def unknown_route(request: Request, exc: StarletteHTTPException) -> Response:
        # Paths and methods no route serves still answer in the shape of the API the
        # client was speaking to.
        path = request.url.path
        if exc.status_code == 405:
            message = f"Method {request.method} is not allowed on {path}."
        else:
            message = f"{request.method} {path} is not served here."
        error: OpenScopeError = NotFound(
            message, code="method_not_allowed" if exc.status_code == 405 else None
        )
        return json_response(errors_for(path).body(error, request_id_of(request)), exc.status_code)

    return app
