"""HTTP routes of the Files and Vector Stores APIs, under `/compatible-mode/v1` and `/v1`:
the wire layer over the core's `FilesService` and `VectorStoresService`."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from openscope.core.knowledge import FilesService, VectorStoresService
from openscope.protocols.http import ProtocolContext, ProtocolErrors, route_class
from openscope.protocols.openai_files.encode import error_body, error_status
from openscope.protocols.openai_files.file_routes import file_routes
from openscope.protocols.openai_files.vector_store_routes import vector_store_routes

PREFIXES = ("/compatible-mode/v1", "/v1")
PATHS = ("/v1/files", "/v1/vector_stores")  # what these APIs answer, routes or not
ERRORS = ProtocolErrors(body=error_body, status=error_status)  # also for unknown routes
# How long the SDK's poll helpers wait before asking again about a file being ingested.
POLL_AFTER_MS = 500


def claims(path: str) -> bool:
    return any(part in path for part in PATHS)


def build_router(
    ctx: ProtocolContext,
    files: FilesService,
    stores: VectorStoresService,
    *,
    max_file_bytes: int,
    poll_after_ms: int = POLL_AFTER_MS,
) -> APIRouter:
    """`max_file_bytes`: the largest upload (a larger one is a 413 before it is read
    whole); JSON bodies are bounded by `ctx.max_body_bytes`."""
    router = APIRouter(
        route_class=route_class(ERRORS.response), dependencies=[Depends(ctx.authenticate)]
    )
    specs = [
        *file_routes(files, max_file_bytes),
        *vector_store_routes(stores, ctx.max_body_bytes, poll_after_ms),
    ]
    for prefix in PREFIXES:
        for spec in specs:
            router.add_api_route(f"{prefix}{spec.path}", spec.handler, methods=[spec.method])
    return router
