"""The one route runner every generating endpoint uses: after a protocol has decoded its
body into a `Call`, wait for the first event while watching for a client that leaves, then
stream the events through the protocol's codec or collect them into its JSON body, closing
the event iterator on every path. The mid-stream error policy lives here once: a failure
after the first byte goes to the codec's `fail`, which ends the stream in the protocol's
own way."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Iterable
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any, Protocol

from fastapi import Request, Response

from openscope.core.call import Call
from openscope.core.errors import INTERNAL_ERROR_MESSAGE, InternalError, OpenScopeError
from openscope.core.events import Event, LimitsChecked
from openscope.core.fold import Folder, GenerateResult
from openscope.core.service import GenerationService
from openscope.protocols.http import json_response, sse_response, unless_disconnected
from openscope.protocols.ratelimit_headers import LimitHeaders, openai_limit_headers

log = logging.getLogger("openscope.protocols")


class Codec(Protocol):
    """How one call's events become one protocol's wire format. The stream methods return
    ready SSE frames; `body` is the non-streaming answer's JSON."""

    def start(self) -> Iterable[bytes]:
        """Frames sent before the first event (Responses' `response.created`)."""
        ...

    def event(self, event: Event) -> Iterable[bytes]: ...

    def finish(self) -> Iterable[bytes]:
        """Frames that end a stream that ran to its end."""
        ...

    def fail(self, error: OpenScopeError) -> Iterable[bytes]:
        """Frames that end a stream cut by `error` after its first byte."""
        ...

    def body(self, result: GenerateResult) -> Any:
        """The JSON of the whole answer, for a client that did not stream."""
        ...


@dataclass(frozen=True, slots=True)
class KeepAlive:
    """A frame to send whenever `interval` seconds pass without an event (Anthropic's
    `ping`), so idle connections and proxies do not time out."""

    interval: float
    frame: bytes


async def run_call(
    request: Request,
    service: GenerationService,
    call: Call,
    codec: Codec,
    *,
    keepalive: KeepAlive | None = None,
    limit_headers: LimitHeaders = openai_limit_headers,
) -> Response:
    """The response to `call`. An error before the first event is raised (so the route
    answers it with a plain error body and status); a client that leaves while waiting
    frees its place. What the rate limits have left goes out as headers (`limit_headers`
    words them in the protocol's style)."""
    events = service.generate(call)
    try:
        checked, first = await unless_disconnected(request, _first_generated(events))
    except BaseException:
        await events.aclose()
        raise
    headers = limit_headers(checked.requests, checked.tokens) if checked is not None else {}
    if call.stream:
        return sse_response(_frames(first, events, codec, keepalive), headers)

    async def collect() -> GenerateResult:
        folder = Folder(logprobs=call.request.sampling.logprobs)
        try:
            if first is not None:
                folder.add(first)
                async for event in events:
                    folder.add(event)
        finally:
            await events.aclose()
        return folder.result()

    return json_response(codec.body(await unless_disconnected(request, collect())), 200, headers)


async def _first_generated(
    events: AsyncIterator[Event],
) -> tuple[LimitsChecked | None, Event | None]:
    """What the limits said, if they were asked, and the first event after that. The
    limits are checked before anything is generated: the answer's status waits for the
    first real event, so a refusal after admission still gets its own."""
    checked = None
    try:
        first = await anext(events)
        while isinstance(first, LimitsChecked):
            checked = first
            first = await anext(events)
    except StopAsyncIteration:
        return checked, None
    return checked, first


async def _after(first: Event | None, events: AsyncIterator[Event]) -> AsyncGenerator[Event, None]:
    if first is None:
        return
    yield first
    async for event in events:
        yield event


async def _frames(
    first: Event | None,
    events: AsyncGenerator[Event, None],
    codec: Codec,
    keepalive: KeepAlive | None,
) -> AsyncIterator[bytes]:
    # Starlette cancels this iterator when the client disconnects; closing the events then
    # stops the generation, through every stage of the pipeline.
    try:
        for frame in codec.start():
            yield frame
        try:
            if keepalive is None:
                if first is not None:
                    for frame in codec.event(first):
                        yield frame
                    async for event in events:
                        for frame in codec.event(event):
                            yield frame
            else:
                # Closed innermost first: the keep-alive pump stops before what it reads.
                async with aclosing(_after(first, events)) as stream:
                    paced = _with_keepalive(stream, keepalive.interval)
                    async with aclosing(paced) as items:
                        async for item in items:
                            frames = codec.event(item) if item is not None else (keepalive.frame,)
                            for frame in frames:
                                yield frame
        except OpenScopeError as error:
            ending = codec.fail(error)
        except Exception:
            log.exception("stream failed")
            ending = codec.fail(InternalError(INTERNAL_ERROR_MESSAGE))
        else:
            ending = codec.finish()
        for frame in ending:
            yield frame
    finally:
        await events.aclose()


async def _with_keepalive(
    events: AsyncIterator[Event], interval: float
) -> AsyncGenerator[Event | None, None]:
    """The events, with `None` whenever `interval` seconds pass without one.

    A pump task reads the events, so that waiting with a timeout never cancels the
    backend's iterator half-way through a step. The pump is stopped, and waited for, before
    this generator ends: only then may the caller close the events it was reading."""
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
