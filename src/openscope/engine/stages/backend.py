"""The end of the pipeline: the backend that serves the call's model generates, within the
call's deadline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Mapping
from contextlib import aclosing

from opentelemetry.trace import Status, StatusCode, Tracer

from openscope.backends.base import Backend
from openscope.core.call import Call
from openscope.core.errors import request_timed_out
from openscope.core.events import Event
from openscope.engine.routing import Router


class RunOnBackend:
    def __init__(
        self, router: Router, backends: Mapping[str, Backend], tracer: Tracer | None = None
    ) -> None:
        """With a `tracer`, each call's time on its backend is a `backend` span."""
        self._router = router
        self._backends = backends
        self._tracer = tracer

    def __call__(self, call: Call) -> AsyncGenerator[Event, None]:
        target = self._router.resolve(call.request.model)
        backend = self._backends[target.route.backend]
        events = backend.generate(call.request, target.route.model)
        if call.deadline is not None:
            events = _within(call.deadline, events)
        if self._tracer is not None:
            events = _traced(self._tracer, target.route.backend, target.route.model, events)
        return events  # with nothing to watch, the backend's own iterator


async def _traced(
    tracer: Tracer, backend: str, model: str, source: AsyncGenerator[Event, None]
) -> AsyncGenerator[Event, None]:
    # Started, not made current: a current span cannot cross this generator's yields.
    span = tracer.start_span(
        "backend", attributes={"openscope.backend": backend, "openscope.model": model}
    )
    try:
        async with aclosing(source) as events:
            async for event in events:
                yield event
    except Exception as error:
        span.record_exception(error)
        span.set_status(Status(StatusCode.ERROR))
        raise
    finally:
        span.end()


async def _within(
    deadline: float, source: AsyncGenerator[Event, None]
) -> AsyncGenerator[Event, None]:
    """`source`'s events until `deadline`, then Model Studio's timeout."""
    async with aclosing(source) as events:
        while True:
            try:
                # Only a call with a deadline pays for a timed wait per event.
                remaining = max(0.0, deadline - time.monotonic())
                event = await asyncio.wait_for(anext(events), remaining)
            except StopAsyncIteration:
                return
            except TimeoutError:
                raise request_timed_out() from None
            yield event
