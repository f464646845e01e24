"""HTTP routes of the Chat Completions API and the models list, under
`/compatible-mode/v1` (Model Studio's path) and `/v1` (for generic OpenAI clients)."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator

from fastapi import APIRouter, Depends, Request, Response

from openscope.core import ids
from openscope.core.errors import INTERNAL_ERROR_MESSAGE, InternalError, OpenScopeError
from openscope.core.events import Event
from openscope.core.fold import GenerateResult, afold
from openscope.core.service import ServedModel
from openscope.protocols.http import (
    ProtocolContext,
    error_response,
    json_response,
    read_json,
    request_id_of,
    route_class,
    sse_frame,
    sse_response,
    unless_disconnected,
)
from openscope.protocols.openai_chat.decode import decode
from openscope.protocols.openai_chat.encode import (
    ChunkEncoder,
    completion_body,
    error_body,
    error_status,
)

log = logging.getLogger("openscope.chat")

PREFIXES = ("/compatible-mode/v1", "/v1")
DONE_FRAME = b"data: [DONE]\n\n"


def encode_error(error: OpenScopeError, request_id: str) -> Response:
    return error_response(error_body(error, request_id), error_status(error), error)


def _model_body(model: ServedModel) -> dict[str, object]:
    return {"id": model.id, "object": "model", "created": model.created, "owned_by": model.owned_by}


def build_router(ctx: ProtocolContext) -> APIRouter:
    router = APIRouter(
        route_class=route_class(encode_error), dependencies=[Depends(ctx.authenticate)]
    )

    async def chat_completions(request: Request) -> Response:
        core_request, wire = decode(await read_json(request, ctx.max_body_bytes))
        stream = bool(wire.stream)
        # a client that leaves while its request waits for the model frees its place
        events = await unless_disconnected(
            request, ctx.service.generate(core_request, stream=stream)
        )
        completion_id = ids.chat_completion_id()
        created = int(time.time())
        if stream:
            encoder = ChunkEncoder(
                completion_id=completion_id,
                created=created,
                model=wire.model,
                include_usage=bool(wire.stream_options and wire.stream_options.include_usage),
                logprobs=core_request.sampling.logprobs,
            )
            return sse_response(_frames(events, encoder, request_id_of(request)))

        async def collect() -> GenerateResult:
            try:
                return await afold(events, logprobs=core_request.sampling.logprobs)
            finally:
                await events.aclose()

        result = await unless_disconnected(request, collect())
        return json_response(
            completion_body(result, completion_id=completion_id, created=created, model=wire.model)
        )

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


async def _frames(
    events: AsyncGenerator[Event, None], encoder: ChunkEncoder, request_id: str
) -> AsyncIterator[bytes]:
    """SSE frames of a stream. A failure after the first byte can no longer change the
    status, so it ends the stream with one error frame instead of `[DONE]`."""
    try:
        async for event in events:
            for chunk in encoder.encode(event):
                yield sse_frame(chunk)
        for chunk in encoder.finish():
            yield sse_frame(chunk)
        yield DONE_FRAME
    except OpenScopeError as error:
        yield sse_frame(error_body(error, request_id))
    except Exception:
        log.exception("stream failed")
        yield sse_frame(error_body(InternalError(INTERNAL_ERROR_MESSAGE), request_id))
    finally:
        await events.aclose()
