"""HTTP plumbing every protocol shares: reading bodies within limits, catching errors
into the protocol's own error body, server-sent events, and client disconnects."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import orjson
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.responses import StreamingResponse

from openscope.core.errors import (
    INTERNAL_ERROR_MESSAGE,
    InternalError,
    InvalidParameter,
    OpenScopeError,
    RequestTooLarge,
)
from openscope.core.ids import request_id as new_request_id
from openscope.core.limits import MAX_NESTING, nesting_exceeds
from openscope.core.principal import Principal
from openscope.core.service import GenerationService, ResponsesService
from openscope.protocols.ratelimit_headers import LimitHeaders, error_headers, openai_limit_headers

log = logging.getLogger("openscope.protocols")

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ProtocolContext:
    """What the server hands a protocol's router: the services to generate with (stateless
    and stateful), how to authenticate a request (it also leaves the caller on
    `request.state.principal`), the largest body it accepts, and the largest a generation
    request may have (`core.rules.sizes.generation_body_limit`)."""

    service: GenerationService
    responses: ResponsesService
    authenticate: Callable[[Request], Awaitable[Principal]]
    max_body_bytes: int
    max_generation_body_bytes: int


def principal_of(request: Request) -> Principal:
    """The caller the router's authentication found."""
    principal = getattr(request.state, "principal", None)
    if not isinstance(principal, Principal):
        raise RuntimeError("the route ran without authentication")
    return principal


@dataclass(frozen=True, slots=True)
class ProtocolErrors:
    """A protocol's error table: the body and the status it answers an error with, and
    the rate-limit headers it sends (on 429s and on every generating answer)."""

    body: Callable[[OpenScopeError, str], dict[str, Any]]
    status: Callable[[OpenScopeError], int]
    limit_headers: LimitHeaders = openai_limit_headers

    def response(self, error: OpenScopeError, request_id: str) -> Response:
        headers = error_headers(error, self.limit_headers)
        return json_response(self.body(error, request_id), self.status(error), headers)


class ClientDisconnected(Exception):
    """The client went away before its answer was ready."""


# 499: nginx's "client closed request"; nobody reads it, but access logs show what happened.
CLIENT_CLOSED_REQUEST = 499


class ErrorEncoder(Protocol):
    def __call__(self, error: OpenScopeError, request_id: str) -> Response: ...


def request_id_of(request: Request) -> str:
    rid = getattr(request.state, "request_id", None)
    if rid is None:
        rid = new_request_id()
        request.state.request_id = rid
    return str(rid)


def route_class(encode_error: ErrorEncoder) -> type[APIRoute]:
    """An APIRoute whose handler turns every failure into the protocol's error body.

    Unexpected exceptions are logged with their traceback and answered with a generic
    internal error, so no traceback ever reaches a client."""

    class ProtocolRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def guarded(request: Request) -> Response:
                try:
                    return await handler(request)
                except ClientDisconnected:
                    return Response(status_code=CLIENT_CLOSED_REQUEST)
                except RequestValidationError as invalid:
                    # query and path parameters FastAPI checked (bodies are parsed by hand)
                    first = invalid.errors()[0]
                    where = ".".join(str(p) for p in clean_location(first["loc"][1:]))
                    error = InvalidParameter(f"Invalid '{where}': {first['msg']}.", param=where)
                    return encode_error(error, request_id_of(request))
                except OpenScopeError as error:
                    return encode_error(error, request_id_of(request))
                except Exception:
                    log.exception("unhandled error in %s %s", request.method, request.url.path)
                    internal = InternalError(INTERNAL_ERROR_MESSAGE)
                    return encode_error(internal, request_id_of(request))

            return guarded

    return ProtocolRoute


# The names pydantic gives union members in an error's location ("input.str").
_UNION_TAGS = {"str", "int", "float", "bool", "dict", "list", "none"}


def clean_location(location: Sequence[Any]) -> list[Any]:
    """An error location as the client wrote the request: without pydantic's union tags."""
    return [
        part
        for part in location
        if not (isinstance(part, str) and (part in _UNION_TAGS or "[" in part))
    ]


TOO_DEEP = f"The request body is nested too deeply: at most {MAX_NESTING} levels."


GENERATION_TOO_LARGE = (
    " A generation request is read up to the longest prompt this server's models accept."
)


async def read_generation_json(request: Request, ctx: ProtocolContext) -> Any:
    """A generation request's body (see `read_json`), bounded by what its models can read."""
    return await read_json(request, ctx.max_generation_body_bytes, why=GENERATION_TOO_LARGE)


async def read_json(request: Request, max_bytes: int, *, empty: Any = None, why: str = "") -> Any:
    """The request body parsed as JSON, refusing bodies over `max_bytes` before reading
    them whole (`why` ends the refusal's message). An empty body is an error unless `empty`
    says what it stands for."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise RequestTooLarge(_too_large(max_bytes) + why)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise RequestTooLarge(_too_large(max_bytes) + why)
    if not body:
        if empty is not None:
            return empty
        raise InvalidParameter("The request body is empty; send a JSON object.")
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        # orjson stops at 1024 levels on its own; deeper still is the same refusal.
        if str(error).startswith("depth limit exceeded"):
            raise InvalidParameter(TOO_DEEP) from None
        raise InvalidParameter(f"The request body is not valid JSON: {error}") from None
    # Checked once here for every API: past this point the stdlib json module (in prompt
    # templates, in the store's JSON column) recurses, and a deep enough value crashes it.
    if nesting_exceeds(value, MAX_NESTING):
        raise InvalidParameter(TOO_DEEP)
    return value


def _too_large(max_bytes: int) -> str:
    return f"The request body is larger than the {max_bytes} bytes this server accepts."


W = TypeVar("W", bound=BaseModel)


def parse_wire(model: type[W], body: Any, describe: Callable[[list[Any], str], str]) -> W:
    """`body` validated as `model`. A type error becomes `InvalidParameter` whose message
    `describe(location, problem)` words in the protocol's own style."""
    if not isinstance(body, dict):
        raise InvalidParameter("The request body must be a JSON object.")
    try:
        return model.model_validate(body)
    except ValidationError as error:
        first = error.errors()[0]
        location = clean_location(first["loc"])
        raise InvalidParameter(
            describe(location, first["msg"]), param=str(first["loc"][0])
        ) from None


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(body), status_code=status, media_type="application/json", headers=headers
    )


def sse_frame(data: Any, event: str | None = None) -> bytes:
    payload = data if isinstance(data, bytes) else orjson.dumps(data)
    prefix = f"event: {event}\n".encode() if event else b""
    return prefix + b"data: " + payload + b"\n\n"


def sse_response(
    frames: AsyncIterator[bytes], headers: dict[str, str] | None = None
) -> StreamingResponse:
    return StreamingResponse(
        frames,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no", **(headers or {})},
    )


async def unless_disconnected(request: Request, work: Awaitable[T]) -> T:
    """Await `work`, cancelling it if the client goes away first (a non-streaming client
    that hangs up should not keep the model busy). Only once the body has been read.

    The hang-up is listened for rather than polled: a request waiting its turn costs the
    event loop nothing until something happens (a poll every quarter second, each one an
    anyio cancel scope whose reason formats the task, took ~3% of a core with 24 requests
    queued for the embedded model)."""
    task = asyncio.ensure_future(work)
    hang_up = asyncio.ensure_future(_hung_up(request))
    try:
        await asyncio.wait({task, hang_up}, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            return task.result()
        hang_up.result()  # what broke the listening, if anything did
        raise ClientDisconnected
    finally:
        hang_up.cancel()
        if not task.done():
            task.cancel()


async def _hung_up(request: Request) -> None:
    """Returns when the server hears that the client has gone. With the body read, the
    only message left to receive is that one."""
    while (await request.receive())["type"] != "http.disconnect":
        pass
