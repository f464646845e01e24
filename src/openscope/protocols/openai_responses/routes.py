"""HTTP routes of the Responses and Conversations APIs, under `/compatible-mode/v1` and
`/v1`."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import replace

from fastapi import APIRouter, Depends, Query, Request, Response

from openscope.core.errors import (
    INTERNAL_ERROR_MESSAGE,
    InvalidParameter,
    OpenScopeError,
    error_code,
)
from openscope.core.events import Event
from openscope.core.fold import Folder, GenerateResult
from openscope.core.state import Order, ResponseError
from openscope.core.turns import Turn, turn_record
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
from openscope.protocols.openai_responses.decode import decode, input_items, metadata, parse
from openscope.protocols.openai_responses.encode import (
    ResponseStreamEncoder,
    conversation_body,
    deleted_body,
    error_body,
    error_status,
    item_body,
    items_body,
    page_body,
    response_body,
)
from openscope.protocols.openai_responses.schemas import (
    ConversationCreate,
    ConversationUpdate,
    ItemsCreate,
)

log = logging.getLogger("openscope.responses")

PREFIXES = ("/compatible-mode/v1", "/v1")


def encode_error(error: OpenScopeError, request_id: str) -> Response:
    return error_response(error_body(error, request_id), error_status(error), error)


def _order(value: str) -> Order:
    try:
        return Order(value)
    except ValueError:
        raise InvalidParameter(
            f"Invalid 'order': must be asc or desc, got {value}.", param="order"
        ) from None


LIMIT = Query(20, ge=1, le=100)
SESSION_CACHE_HEADER = "x-dashscope-session-cache"


def session_cache_enabled(value: str | None) -> bool:
    """Model Studio's session cache switch: `enable` or `disable` (the default)."""
    if value is None or value.strip().lower() == "disable":
        return False
    if value.strip().lower() == "enable":
        return True
    raise InvalidParameter(
        f"Invalid value for header {SESSION_CACHE_HEADER}: expected 'enable' or 'disable', "
        f"got '{value}'.",
        param=SESSION_CACHE_HEADER,
    )


def build_router(ctx: ProtocolContext) -> APIRouter:
    router = APIRouter(
        route_class=route_class(encode_error), dependencies=[Depends(ctx.authenticate)]
    )
    service = ctx.responses

    async def create_response(request: Request) -> Response:
        turn, wire = decode(await read_json(request, ctx.max_body_bytes))
        if session_cache_enabled(request.headers.get(SESSION_CACHE_HEADER)):
            turn = replace(turn, request=replace(turn.request, session_cache=True))
        # a client that leaves while its request waits for the model frees its place
        events = await unless_disconnected(
            request, service.run_turn(turn, stream=bool(wire.stream))
        )
        if wire.stream:
            return sse_response(_frames(turn, events, request_id_of(request)))

        async def collect() -> GenerateResult:
            folder = Folder()
            try:
                async for event in events:
                    folder.add(event)
            finally:
                await events.aclose()
            return folder.result()

        result = await unless_disconnected(request, collect())
        return json_response(response_body(turn_record(turn, result)))

    async def list_responses(request: Request) -> Response:
        # Model Studio keeps no listable collection of responses (BEHAVIOUR.md).
        body = {
            "code": "method_not_allowed",
            "message": "Method GET is not allowed on the responses collection.",
            "request_id": request_id_of(request),
        }
        return json_response(body, status=405)

    async def retrieve_response(response_id: str) -> Response:
        return json_response(response_body(await service.get_response(response_id)))

    async def delete_response(response_id: str) -> Response:
        await service.delete_response(response_id)
        return json_response(deleted_body("response", response_id))

    async def list_input_items(
        response_id: str, limit: int = LIMIT, order: str = "desc", after: str | None = None
    ) -> Response:
        page = await service.list_input_items(
            response_id, limit=limit, order=_order(order), after=after
        )
        return json_response(page_body(page))

    async def create_conversation(request: Request) -> Response:
        wire = parse(ConversationCreate, await read_json(request, ctx.max_body_bytes, empty={}))
        items = input_items(wire.items or [])
        conversation = await service.create_conversation(metadata(wire.metadata), items)
        return json_response(conversation_body(conversation))

    async def retrieve_conversation(conversation_id: str) -> Response:
        return json_response(conversation_body(await service.get_conversation(conversation_id)))

    async def update_conversation(conversation_id: str, request: Request) -> Response:
        wire = parse(ConversationUpdate, await read_json(request, ctx.max_body_bytes))
        conversation = await service.update_conversation(conversation_id, metadata(wire.metadata))
        return json_response(conversation_body(conversation))

    async def delete_conversation(conversation_id: str) -> Response:
        await service.delete_conversation(conversation_id)
        return json_response(deleted_body("conversation.deleted", conversation_id))

    async def create_items(conversation_id: str, request: Request) -> Response:
        wire = parse(ItemsCreate, await read_json(request, ctx.max_body_bytes))
        added = await service.add_conversation_items(conversation_id, input_items(wire.items))
        return json_response(items_body(added))

    async def list_items(
        conversation_id: str, limit: int = LIMIT, order: str = "desc", after: str | None = None
    ) -> Response:
        page = await service.list_conversation_items(
            conversation_id, limit=limit, order=_order(order), after=after
        )
        return json_response(page_body(page))

    async def retrieve_item(conversation_id: str, item_id: str) -> Response:
        return json_response(
            item_body(await service.get_conversation_item(conversation_id, item_id))
        )

    async def delete_item(conversation_id: str, item_id: str) -> Response:
        conversation = await service.delete_conversation_item(conversation_id, item_id)
        return json_response(conversation_body(conversation))

    for prefix in PREFIXES:
        add = router.add_api_route
        add(f"{prefix}/responses", create_response, methods=["POST"])
        add(f"{prefix}/responses", list_responses, methods=["GET"])
        add(f"{prefix}/responses/{{response_id}}", retrieve_response, methods=["GET"])
        add(f"{prefix}/responses/{{response_id}}", delete_response, methods=["DELETE"])
        add(f"{prefix}/responses/{{response_id}}/input_items", list_input_items, methods=["GET"])
        add(f"{prefix}/conversations", create_conversation, methods=["POST"])
        add(f"{prefix}/conversations/{{conversation_id}}", retrieve_conversation, methods=["GET"])
        add(f"{prefix}/conversations/{{conversation_id}}", update_conversation, methods=["POST"])
        add(f"{prefix}/conversations/{{conversation_id}}", delete_conversation, methods=["DELETE"])
        add(f"{prefix}/conversations/{{conversation_id}}/items", create_items, methods=["POST"])
        add(f"{prefix}/conversations/{{conversation_id}}/items", list_items, methods=["GET"])
        add(
            f"{prefix}/conversations/{{conversation_id}}/items/{{item_id}}",
            retrieve_item,
            methods=["GET"],
        )
        add(
            f"{prefix}/conversations/{{conversation_id}}/items/{{item_id}}",
            delete_item,
            methods=["DELETE"],
        )
    return router


async def _frames(
    turn: Turn, events: AsyncGenerator[Event, None], request_id: str
) -> AsyncIterator[bytes]:
    """The Responses stream. A failure mid-way ends it with `response.failed` carrying the
    error, after which the stream closes."""
    encoder = ResponseStreamEncoder(turn_record(turn, GenerateResult(choices=())))
    folder = Folder()
    try:
        for event in encoder.start():
            yield sse_frame(event, event=event["type"])
        try:
            async for item in events:
                folder.add(item)
                for event in encoder.encode(item):
                    yield sse_frame(event, event=event["type"])
        except OpenScopeError as error:
            failed: ResponseError | None = ResponseError(error_code(error), error.message)
        except Exception:
            log.exception("response stream failed")
            failed = ResponseError("internal_error", INTERNAL_ERROR_MESSAGE)
        else:
            failed = None
        record = turn_record(turn, folder.result(), error=failed)
        for event in encoder.finish(record):
            yield sse_frame(event, event=event["type"])
    finally:
        await events.aclose()
