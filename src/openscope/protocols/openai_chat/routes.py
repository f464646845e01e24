"""HTTP routes of the Chat Completions API and the models list, under
`/compatible-mode/v1` (Model Studio's path) and `/v1` (for generic OpenAI clients)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from openscope.core.call import Call
from openscope.core.service import ServedModel
from openscope.protocols.http import (
    ProtocolContext,
    ProtocolErrors,
    json_response,
    principal_of,
    read_generation_json,
    request_id_of,
    route_class,
)
from openscope.protocols.openai_chat.codec import ChatCodec
from openscope.protocols.openai_chat.decode import decode
from openscope.protocols.openai_chat.encode import error_body, error_status
from openscope.protocols.runner import run_call

PREFIXES = ("/compatible-mode/v1", "/v1")
ERRORS = ProtocolErrors(body=error_body, status=error_status)  # also for unknown routes


def _model_body(model: ServedModel) -> dict[str, object]:
    return {"id": model.id, "object": "model", "created": model.created, "owned_by": model.owned_by}


def build_router(ctx: ProtocolContext) -> APIRouter:
    router = APIRouter(
        route_class=route_class(ERRORS.response), dependencies=[Depends(ctx.authenticate)]
    )

    async def chat_completions(request: Request) -> Response:
        core_request, wire = decode(await read_generation_json(request, ctx))
        call = Call(
            principal_of(request),
            core_request,
            stream=bool(wire.stream),
            request_id=request_id_of(request),
            api="chat",
        )
        codec = ChatCodec(
            model=wire.model,
            include_usage=bool(wire.stream_options and wire.stream_options.include_usage),
            logprobs=core_request.sampling.logprobs,
            request_id=request_id_of(request),
            search_sources=bool((wire.search_options or {}).get("enable_source") is True),
        )
        return await run_call(request, ctx.service, call, codec, limit_headers=ERRORS.limit_headers)

    async def list_models() -> Response:
        data = [_model_body(m) for m in ctx.service.models()]
        return json_response({"object": "list", "data": data})

    async def retrieve_model(model_id: str) -> Response:
        return json_response(_model_body(ctx.service.model(model_id)))

    for prefix in PREFIXES:
        router.add_api_route(f"{prefix}/chat/completions", chat_completions, methods=["POST"])
        router.add_api_route(f"{prefix}/models", list_models, methods=["GET"])
        router.add_api_route(f"{prefix}/models/{{model_id:path}}", retrieve_model, methods=["GET"])
    return router
