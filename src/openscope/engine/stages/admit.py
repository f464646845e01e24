"""Admit: the caller may call this model (its key's and workspace's allow-list), and the
rate limits of every scope the call counts in have room for it (`engine.admission`, which
the embeddings API shares). Its tokens are reserved at admission (the prompt and the most
it may generate) and settled to what it used when it ends, however it ends. A call no limit
applies to passes through untouched: no limiter is asked and the events pay for no hop."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing

from openscope.core.call import Call
from openscope.core.catalog import ModelSpec
from openscope.core.errors import MODEL_ACCESS_DENIED, InvalidParameter, PermissionDenied
from openscope.core.estimate import estimated_prompt_tokens
from openscope.core.events import AudioDelta, Event, LimitsChecked, PartDelta, UsageReport
from openscope.core.quota import Demand, LimitScope
from openscope.core.request import GenerateRequest
from openscope.engine.admission import Admissions, LimitedCall, token_room
from openscope.engine.pipeline import Next
from openscope.engine.routing import Router

# The output reserved for a call that sets no maximum: the model's own maximum would let
# a handful of calls hold a minute's tokens until they settle.
DEFAULT_OUTPUT_RESERVE = 4_096
# ...and at most this fraction of the tightest token limit (see `demand_of`).
DEFAULT_RESERVE_SHARE = 4


def demand_of(request: GenerateRequest, spec: ModelSpec, room: int | None = None) -> Demand:
    """One request, reserving its prompt and the most it may generate (the per-second
    buckets: its prompt alone). A call that sets no maximum reserves the default output,
    but at most a quarter of the `room` its tightest token limit has (at least four such
    calls fit at once): with a small limit, a call that asked for no particular length is
    admitted and settled to what it used, not refused for good for a length nobody asked
    for, nor made to wait for the whole bucket to refill."""
    prompt = estimated_prompt_tokens(request)
    output = request.sampling.max_tokens
    if output is None:
        output = min(spec.max_output_tokens, DEFAULT_OUTPUT_RESERVE)
        if room is not None:
            choices = max(1, request.sampling.n or 1)
            output = max(1, min(output, room // DEFAULT_RESERVE_SHARE // choices))
    return Demand(
        tokens=prompt + output * max(1, request.sampling.n or 1), per_second_tokens=prompt
    )


class Admit:
    def __init__(self, router: Router, admissions: Admissions) -> None:
        self._router = router
        self._admissions = admissions

    def __call__(self, call: Call, next: Next) -> AsyncGenerator[Event, None]:
        if not call.principal.may_call(call.request.model):
            raise PermissionDenied(MODEL_ACCESS_DENIED)
        spec = self._router.resolve(call.request.model).served.spec
        scopes = self._admissions.scopes(call.principal, call.request.model, spec)
        if not scopes:
            return next(call)
        return self._admitted(call, spec, scopes, next)

    async def _admitted(
        self, call: Call, spec: ModelSpec, scopes: tuple[LimitScope, ...], next: Next
    ) -> AsyncGenerator[Event, None]:
        demand = demand_of(call.request, spec, token_room(scopes))
        limited = LimitedCall(call.principal, call.request.model, call.api, call.request_id)
        admission = await self._admissions.admit(limited, scopes, demand)
        reported = 0
        reported_input = 0
        pieces = 0
        estimate = demand.per_second_tokens or 0
        try:
            yield LimitsChecked(admission.requests, admission.tokens)
            async with aclosing(next(call)) as events:
                async for event in events:
                    if isinstance(event, UsageReport):
                        reported = event.usage.total_tokens
                        reported_input = event.usage.input_tokens
                    elif isinstance(event, PartDelta | AudioDelta):
                        pieces += 1
                    yield event
        except InvalidParameter:
            # The backend refused the request before reading it (an image it cannot have,
            # a field its engine cannot carry): nothing was read, nothing is kept.
            if not (reported or pieces):
                estimate = 0
            raise
        finally:
            # A stream cut short has no final usage: what was read (or, with nothing read,
            # the prompt's estimate), and a token a piece.
            read = reported_input or estimate
            await self._admissions.settle(admission.ticket, max(reported, read + pieces))
