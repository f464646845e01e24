"""HTTP routes of the Responses and Conversations APIs, under `/compatible-mode/v1` and
`/v1`."""

from __future__ import annotations

from dataclasses import replace

from fastapi import APIRouter, Depends, Query, Request, Response

from openscope.core.call import Call
from openscope.core.errors import InvalidParameter
from openscope.core.state import Order
from openscope.protocols.http import (
    ProtocolContext,
    ProtocolErrors,
    json_response,
    principal_of,
    read_generation_json,
    read_json,
    request_id_of,
    route_class,
)
from openscope.protocols.openai_responses.codec import ResponsesCodec
from openscope.protocols.openai_responses.decode import decode, input_items, metadata, parse
from openscope.protocols.openai_responses.encode import (
    conversation_body,
    deleted_body,
    error_body,
    error_status,
    items_body,
    page_body,
    response_body,
)
from openscope.protocols.openai_responses.items import item_body
from openscope.protocols.openai_responses.schemas import (
    ConversationCreate,
    ConversationUpdate,
    ItemsCreate,
)
from openscope.protocols.runner import run_call

PREFIXES = ("/compatible-mode/v1", "/v1")
PATHS = ("/v1/responses", "/v1/conversations")  # what this API answers, routes or not
ERRORS = ProtocolErrors(body=error_body, status=error_status)  # also for unknown routes


def claims(path: str) -> bool:
    return any(part in path for part in PATHS)


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
        route_class=route_class(ERRORS.response), dependencies=[Depends(ctx.authenticate)]
    )
    service = ctx.responses

    async def create_response(request: Request) -> Response:
        turn, wire = decode(await read_generation_json(request, ctx))
        if session_cache_enabled(request.headers.get(SESSION_CACHE_HEADER)):
            turn = replace(turn, request=replace(turn.request, session_cache=True))
        call = Call(
            principal_of(request),
            turn.request,
            stream=bool(wire.stream),
            turn=turn,
            request_id=request_id_of(request),
            api="responses",
        )
        return await run_call(
            request, ctx.service, call, ResponsesCodec(turn), limit_headers=ERRORS.limit_headers
        )

    async def list_responses(request: Request) -> Response:
        # Model Studio keeps no listable collection of responses (BEHAVIOUR.md).
        body = {
            "code": "method_not_allowed",
            "message": "Method GET is not allowed on the responses collection.",
            "request_id": request_id_of(request),
        }
        return json_response(body, status=405)

    async def retrieve_response(request: Request, response_id: str) -> Response:
        record = await service.get_response(principal_of(request), response_id)
        return json_response(response_body(record))

    async def delete_response(request: Request, response_id: str) -> Response:
        await service.delete_response(principal_of(request), response_id)
        return json_response(deleted_body("response", response_id))

    async def list_input_items(
        request: Request,
        response_id: str,
        limit: int = LIMIT,
        order: str = "desc",
        after: str | None = None,
    ) -> Response:
        page = await service.list_input_items(
            principal_of(request), response_id, limit=limit, order=_order(order), after=after
        )
        return json_response(page_body(page))

    async def create_conversation(request: Request) -> Response:
        wire = parse(ConversationCreate, await read_json(request, ctx.max_body_bytes, empty={}))
        items = input_items(wire.items or [])
        conversation = await service.create_conversation(
            principal_of(request), metadata(wire.metadata), items
        )
        return json_response(conversation_body(conversation))

    async def retrieve_conversation(request: Request, conversation_id: str) -> Response:
        conversation = await service.get_conversation(principal_of(request), conversation_id)
        return json_response(conversation_body(conversation))

    async def update_conversation(conversation_id: str, request: Request) -> Response:
        wire = parse(ConversationUpdate, await read_json(request, ctx.max_body_bytes))
        conversation = await service.update_conversation(
            principal_of(request), conversation_id, metadata(wire.metadata)
        )
        return json_response(conversation_body(conversation))

    async def delete_conversation(request: Request, conversation_id: str) -> Response:
        await service.delete_conversation(principal_of(request), conversation_id)
        return json_response(deleted_body("conversation.deleted", conversation_id))

    async def create_items(conversation_id: str, request: Request) -> Response:
        wire = parse(ItemsCreate, await read_json(request, ctx.max_body_bytes))
        added = await service.add_conversation_items(
            principal_of(request), conversation_id, input_items(wire.items)
        )
        return json_response(items_body(added))

    async def list_items(
        request: Request,
        conversation_id: str,
        limit: int = LIMIT,
        order: str = "desc",
        after: str | None = None,
    ) -> Response:
        page = await service.list_conversation_items(
            principal_of(request), conversation_id, limit=limit, order=_order(order), after=after
        )
        return json_response(page_body(page))

    async def retrieve_item(request: Request, conversation_id: str, item_id: str) -> Response:
        item = await service.get_conversation_item(principal_of(request), conversation_id, item_id)
        return json_response(item_body(item))

    async def delete_item(request: Request, conversation_id: str, item_id: str) -> Response:
        conversation = await service.delete_conversation_item(
            principal_of(request), conversation_id, item_id
        )
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
