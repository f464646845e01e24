"""HTTP routes of the Anthropic-compatible Messages API: under `/apps/anthropic/v1`
(Model Studio's base URL `<host>/apps/anthropic`) and `/v1` for generic clients."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from openscope.core.call import Call
from openscope.protocols.anthropic_messages.codec import PING_INTERVAL, MessagesCodec, pings
from openscope.protocols.anthropic_messages.decode import decode, decode_count_tokens
from openscope.protocols.anthropic_messages.encode import error_body, error_status
from openscope.protocols.http import (
    ProtocolContext,
    ProtocolErrors,
    json_response,
    principal_of,
    read_generation_json,
    request_id_of,
    route_class,
)
from openscope.protocols.ratelimit_headers import anthropic_limit_headers
from openscope.protocols.runner import run_call

PREFIXES = ("/apps/anthropic/v1", "/v1")
PATHS = ("/apps/anthropic", "/v1/messages")  # what this API answers, routes or not
# also for unknown routes
ERRORS = ProtocolErrors(body=error_body, status=error_status, limit_headers=anthropic_limit_headers)


def claims(path: str) -> bool:
    return path.startswith(PATHS)


def build_router(ctx: ProtocolContext, *, ping_interval: float = PING_INTERVAL) -> APIRouter:
    router = APIRouter(
        route_class=route_class(ERRORS.response), dependencies=[Depends(ctx.authenticate)]
    )

    async def create_message(request: Request) -> Response:
        core_request, wire = decode(await read_generation_json(request, ctx))
        call = Call(
            principal_of(request),
            core_request,
            stream=bool(wire.stream),
            request_id=request_id_of(request),
            api="anthropic",
        )
        codec = MessagesCodec(model=wire.model, request_id=request_id_of(request))
        return await run_call(
            request,
            ctx.service,
            call,
            codec,
            keepalive=pings(ping_interval),
            limit_headers=ERRORS.limit_headers,
        )

    async def count_tokens(request: Request) -> Response:
        core_request = decode_count_tokens(await read_generation_json(request, ctx))
        return json_response({"input_tokens": await ctx.service.count_tokens(core_request)})

    for prefix in PREFIXES:
        router.add_api_route(f"{prefix}/messages", create_message, methods=["POST"])
        router.add_api_route(f"{prefix}/messages/count_tokens", count_tokens, methods=["POST"])
    return router
