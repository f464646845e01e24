"""HTTP routes of the Anthropic-compatible Messages API: under `/apps/anthropic/v1`
(Model Studio's base URL `<host>/apps/anthropic`) and `/v1` for generic clients."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator

from fastapi import APIRouter, Depends, Request, Response

from openscope.core import ids
from openscope.core.errors import INTERNAL_ERROR_MESSAGE, InternalError, OpenScopeError
from openscope.core.events import Event
from openscope.core.fold import GenerateResult, afold
from openscope.protocols.anthropic_messages.decode import decode, decode_count_tokens
from openscope.protocols.anthropic_messages.encode import (
    EventEncoder,
    error_body,
    error_status,
    message_body,
)
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

log = logging.getLogger("openscope.anthropic")

PREFIXES = ("/apps/anthropic/v1", "/v1")
# Anthropic sends ping events to keep idle connections (and proxies) from timing out.
PING_INTERVAL = 10.0


def encode_error(error: OpenScopeError, request_id: str) -> Response:
    return error_response(error_body(error, request_id), error_status(error), error)


def build_router(ctx: ProtocolContext, *, ping_interval: float = PING_INTERVAL) -> APIRouter:
    router = APIRouter(
        route_class=route_class(encode_error), dependencies=[Depends(ctx.authenticate)]
    )

    async def create_message(request: Request) -> Response:
        core_request, wire = decode(await read_json(request, ctx.max_body_bytes))
        stream = bool(wire.stream)
        # a client that leaves while its request waits for the model frees its place
        events = await unless_disconnected(
            request, ctx.service.generate(core_request, stream=stream)
        )
        message_id = ids.message_id()
        if stream:
            encoder = EventEncoder(message_id=message_id, model=wire.model)
            return sse_response(_frames(events, encoder, request_id_of(request), ping_interval))

        async def collect() -> GenerateResult:
            try:
                return await afold(events)
            finally:
                await events.aclose()

        result = await unless_disconnected(request, collect())
        return json_response(message_body(result, message_id=message_id, model=wire.model))

    async def count_tokens(request: Request) -> Response:
        core_request = decode_count_tokens(await read_json(request, ctx.max_body_bytes))
        return json_response({"input_tokens": await ctx.service.count_tokens(core_request)})

    for prefix in PREFIXES:
        router.add_api_route(f"{prefix}/messages", create_message, methods=["POST"])
        router.add_api_route(f"{prefix}/messages/count_tokens", count_tokens, methods=["POST"])
    return router


async def _with_pings(
    events: AsyncIterator[Event], interval: float
) -> AsyncGenerator[Event | None, None]:
    """The events, with `None` whenever `interval` seconds pass without one.

    A pump task reads the events so that waiting with a timeout never cancels the
    backend's iterator half-way through a step."""
    queue: asyncio.Queue[tuple[str, object]] = asyncio.Queue(maxsize=64)

    async def pump() -> None:
        try:
            async for event in events:
                await queue.put(("event", event))
            await queue.put(("end", None))
        except Exception as error:
            await queue.put(("error", error))

    task = asyncio.create_task(pump())
    try:
        while True:
            try:
                kind, item = await asyncio.wait_for(queue.get(), timeout=interval)
            except TimeoutError:
                yield None
                continue
            if kind == "end":
                return
            if kind == "error":
                assert isinstance(item, Exception)
                raise item
            yield item  # type: ignore[misc]
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _frames(
    events: AsyncGenerator[Event, None],
    encoder: EventEncoder,
    request_id: str,
    ping_interval: float,
) -> AsyncIterator[bytes]:
    """SSE frames of a stream; a failure after the first byte ends it with an `error`
    event, as Anthropic's API does."""
    try:
        async for event in _with_pings(events, ping_interval):
            if event is None:
                yield sse_frame({"type": "ping"}, event="ping")
                continue
            for name, data in encoder.encode(event):
                yield sse_frame(data, event=name)
        for name, data in encoder.finish():
            yield sse_frame(data, event=name)
    except OpenScopeError as error:
        yield sse_frame(error_body(error, request_id), event="error")
    except Exception:
        log.exception("stream failed")
        yield sse_frame(
            error_body(InternalError(INTERNAL_ERROR_MESSAGE), request_id), event="error"
        )
    finally:
        await events.aclose()
