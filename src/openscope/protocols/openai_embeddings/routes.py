"""The HTTP route of the embeddings API, under `/compatible-mode/v1` and `/v1`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Depends, Request, Response

from openscope.core.embedding_service import EmbeddingsService
from openscope.core.principal import Principal
from openscope.protocols.http import (
    ProtocolErrors,
    json_response,
    principal_of,
    read_json,
    request_id_of,
    route_class,
    unless_disconnected,
)
from openscope.protocols.openai_embeddings.decode import decode
from openscope.protocols.openai_embeddings.encode import embeddings_body, error_body, error_status

PREFIXES = ("/compatible-mode/v1", "/v1")
PATHS = ("/v1/embeddings",)  # what this API answers, routes or not
ERRORS = ProtocolErrors(body=error_body, status=error_status)  # also for unknown routes


def claims(path: str) -> bool:
    return any(part in path for part in PATHS)


def build_router(
    service: EmbeddingsService,
    authenticate: Callable[[Request], Awaitable[Principal]],
    max_body_bytes: int,
) -> APIRouter:
    router = APIRouter(
        route_class=route_class(ERRORS.response), dependencies=[Depends(authenticate)]
    )

    async def create_embeddings(request: Request) -> Response:
        call = decode(await read_json(request, max_body_bytes))
        request_id = request_id_of(request)
        # A client that hangs up frees its place in the model's queue.
        answer = await unless_disconnected(
            request,
            service.embed(
                principal_of(request),
                call.model,
                call.texts,
                dimensions=call.dimensions,
                use=call.use,
                request_id=request_id,
            ),
        )
        return json_response(
            embeddings_body(answer.embeddings, call.model, call.encoding, request_id),
            headers=ERRORS.limit_headers(answer.requests, answer.tokens),
        )

    for prefix in PREFIXES:
        router.add_api_route(f"{prefix}/embeddings", create_embeddings, methods=["POST"])
    return router
