"""Admit: the caller may call this model (its key's and workspace's allow-list), and the
rate limits of every scope the call counts in have room for it: the account's (the
catalogue's Model Studio defaults under the `[platform.limits]` settings), the
workspace's and the key's, each per model. The call is counted in all or none of them;
its tokens are reserved at admission (the prompt and the most it may generate) and settled
to what it used when it ends, however it ends. A call no limit applies to passes through
untouched: no limiter is asked and the events pay for no hop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing

from opentelemetry.trace import Tracer

from openscope.core.call import Call
from openscope.core.catalog import ModelSpec
from openscope.core.errors import (
    MODEL_ACCESS_DENIED,
    PermissionDenied,
    RateLimited,
    rate_limited,
)
from openscope.core.estimate import estimated_prompt_tokens
from openscope.core.events import Event, LimitsChecked, PartDelta, UsageReport
from openscope.core.principal import Principal
from openscope.core.quota import (
    Admission,
    Demand,
    LimitKind,
    LimitScope,
    RateLimiter,
    RateLimits,
    limits_for,
)
from openscope.core.request import GenerateRequest
from openscope.engine.pipeline import Next
from openscope.engine.routing import Router

log = logging.getLogger("openscope.limits")

# The output reserved for a call that sets no maximum: the model's own maximum would let
# a handful of calls hold a minute's tokens until they settle.
DEFAULT_OUTPUT_RESERVE = 4_096
# ...and at most this fraction of the tightest token limit (see `demand_of`).
DEFAULT_RESERVE_SHARE = 4

CALLERS_KEPT = 10_000  # (model, key) pairs whose scopes are kept; all dropped past that

AccountLimits = Callable[[str, ModelSpec], RateLimits]

# Model Studio documents no answer for a call larger than a limit could ever admit. Its
# token limits (TPM/TPS) answer 429 `insufficient_quota`, and the same entry of its error
# catalogue carries the native wording used here, whose remedy (raise the limit, or ask
# for fewer tokens) is the only one that helps; the figures follow, as OpenAI's "Request
# too large ... Limit N, Requested M" gives them. `x-should-retry: false` and no
# `retry-after`: no wait would let it through, so the SDKs must not retry it.
TOO_LARGE_MESSAGE = (
    "Allocated quota exceeded, please increase your quota limit. "
    "Limit {limit} {unit} per {per}, requested {requested}."
)


def too_large(admission: Admission) -> RateLimited:
    """The refusal of a call no wait would admit (see `TOO_LARGE_MESSAGE`)."""
    what = admission.too_large
    assert what is not None
    message = TOO_LARGE_MESSAGE.format(
        limit=what.limit, unit=what.unit, per=what.per, requested=what.requested
    )
    return RateLimited(
        message,
        code="insufficient_quota",
        requests=admission.requests,
        tokens=admission.tokens,
        should_retry=False,
    )


def token_room(scopes: tuple[LimitScope, ...]) -> int | None:
    """The most tokens any one call could ever reserve in these scopes: the smallest
    per-minute or per-day token limit (None when no scope limits tokens so)."""
    limits = [
        limit
        for scope in scopes
        for limit in (scope.limits.tpm, scope.limits.tpd)
        if limit is not None
    ]
    return min(limits) if limits else None


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
    def __init__(
        self,
        router: Router,
        limiter: RateLimiter,
        account_limits: AccountLimits,
        *,
        implied_per_second: bool = True,
        on_refusal: Callable[[Call, LimitKind], None] | None = None,
        tracer: Tracer | None = None,
    ) -> None:
        """`on_refusal` hears of every call a limit refused, and why (for the metrics and
        the ledger); with a `tracer`, asking the limiter is an `admit` span."""
        self._tracer = tracer
        self._router = router
        self._on_refusal = on_refusal
        self._accounts: dict[str, tuple[LimitScope | None]] = {}
        self._settling: set[asyncio.Future[None]] = set()
        self._callers: dict[tuple[str, str], tuple[Principal, tuple[LimitScope, ...]]] = {}
        self._limiter = limiter
        self._account = account_limits
        self._implied = implied_per_second

    def _scope(self, key: str, limits: RateLimits) -> LimitScope | None:
        if limits.empty:
            return None
        return LimitScope(key, limits.with_implied_per_second() if self._implied else limits)

    def scopes(self, call: Call, spec: ModelSpec) -> tuple[LimitScope, ...]:
        """The scopes with a limit on this call's model, widest first."""
        model = call.request.model
        account = self._accounts.get(model)
        if account is None:  # the settings and the catalogue do not change while serving
            account = self._accounts[model] = (
                self._scope(f"acct|m:{model}", self._account(model, spec)),
            )
        principal = call.principal
        if not principal.workspace_limits and not principal.key_limits:
            return tuple(scope for scope in account if scope is not None)
        # A caller's scopes are the same on every call while its principal is the same
        # object (the key directory keeps one per key for its cache's life).
        mine = self._callers.get((model, principal.key_id))
        if mine is not None and mine[0] is principal:
            return mine[1]
        found = (
            *account,
            self._scope(
                f"ws:{principal.workspace}|m:{model}", limits_for(principal.workspace_limits, model)
            )
            if principal.workspace_limits
            else None,
            self._scope(
                f"key:{principal.key_id}|m:{model}", limits_for(principal.key_limits, model)
            )
            if principal.key_limits
            else None,
        )
        scopes = tuple(scope for scope in found if scope is not None)
        if len(self._callers) >= CALLERS_KEPT:
            self._callers.clear()
        self._callers[(model, principal.key_id)] = (principal, scopes)
        return scopes

    def __call__(self, call: Call, next: Next) -> AsyncGenerator[Event, None]:
        if not call.principal.may_call(call.request.model):
            raise PermissionDenied(MODEL_ACCESS_DENIED)
        spec = self._router.resolve(call.request.model).served.spec
        scopes = self.scopes(call, spec)
        if not scopes:
            return next(call)
        return self._admitted(call, spec, scopes, next)

    async def _admitted(
        self, call: Call, spec: ModelSpec, scopes: tuple[LimitScope, ...], next: Next
    ) -> AsyncGenerator[Event, None]:
        demand = demand_of(call.request, spec, token_room(scopes))
        if self._tracer is None:
            admission = await self._admission(scopes, demand)
        else:
            span = self._tracer.start_span(
                "admit", attributes={"openscope.scopes": len(scopes), "openscope.model": spec.name}
            )
            try:
                admission = await self._admission(scopes, demand)
                span.set_attribute("openscope.admitted", admission.admitted)
                if admission.refused is not None:
                    span.set_attribute("openscope.refused", str(admission.refused))
            finally:
                span.end()
        if not admission.admitted:
            if self._on_refusal is not None and admission.refused is not None:
                self._on_refusal(call, admission.refused)
            if admission.too_large is not None:
                raise too_large(admission)
            raise rate_limited(admission)
        reported = 0
        reported_input = 0
        pieces = 0
        try:
            yield LimitsChecked(admission.requests, admission.tokens)
            async with aclosing(next(call)) as events:
                async for event in events:
                    if isinstance(event, UsageReport):
                        reported = event.usage.total_tokens
                        reported_input = event.usage.input_tokens
                    elif isinstance(event, PartDelta):
                        pieces += 1
                    yield event
        finally:
            # A stream cut short has no final usage: what was read (or, with nothing read,
            # the prompt's estimate), and a token a piece.
            read = reported_input or (demand.per_second_tokens or 0)
            used = max(reported, read + pieces)
            if not self._limiter.remote:
                await self._settle(admission.ticket, used)  # no await inside: not cut short
            else:
                # Beside the answer, not before its end: the client does not wait on the
                # limiter's round trip, and a cancelled call cannot cut the settle short.
                self._settle_later(admission.ticket, used)

    async def _admission(self, scopes: tuple[LimitScope, ...], demand: Demand) -> Admission:
        if not self._limiter.remote:
            return await self._limiter.admit(scopes, demand)  # no await inside
        # A client that hangs up while the limiter is asked must not leave its call counted
        # with no one to settle it: the question runs on, and an admission that comes back
        # for nobody is settled at once, as having used nothing.
        asking = asyncio.ensure_future(self._limiter.admit(scopes, demand))
        try:
            return await asyncio.shield(asking)
        except asyncio.CancelledError:
            asking.add_done_callback(self._release_abandoned)
            raise

    def _release_abandoned(self, asking: asyncio.Future[Admission]) -> None:
        if asking.cancelled() or asking.exception() is not None:
            return
        admission = asking.result()
        if admission.admitted:
            self._settle_later(admission.ticket, 0)

    def _settle_later(self, ticket: object, used: int) -> None:
        # A limiter whose settle starts at once returns a future, which needs no task.
        settling = asyncio.ensure_future(self._limiter.settle(ticket, used))
        self._settling.add(settling)
        settling.add_done_callback(self._settled)

    def _settled(self, settling: asyncio.Future[None]) -> None:
        self._settling.discard(settling)
        if not settling.cancelled() and (error := settling.exception()) is not None:
            log.error("could not settle a call's tokens with the rate limiter", exc_info=error)

    async def _settle(self, ticket: object, used: int) -> None:
        try:
            await self._limiter.settle(ticket, used)
        except Exception:
            log.exception("could not settle a call's tokens with the rate limiter")

    async def drain(self) -> None:
        """Wait for the settles still on their way (before the limiter closes)."""
        while self._settling:
            await asyncio.wait(set(self._settling))
