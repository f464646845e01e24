"""The platform's rate limits as every API applies them (the admit stage for generation, the
embeddings gate for embeddings): which scopes a call is counted in — the account's (the
catalogue's Model Studio defaults under the `[platform.limits]` settings), the workspace's
and the key's, each per model — asking the limiter for all of them at once, the 429 a
refusal stands for, and settling an admitted call's tokens when it ends. What a call
demands is the caller's to say: a generation reserves its prompt and its possible output,
an embeddings request the tokens of its texts."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from opentelemetry.trace import Tracer

from openscope.core.catalog import ModelSpec
from openscope.core.errors import RateLimited, rate_limited
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

log = logging.getLogger("openscope.limits")

CALLERS_KEPT = 10_000  # (model, key) pairs whose scopes are kept; all dropped past that

# A model's account-level limits, by the name the client called it and its catalogue
# entry (None for a model the catalogue cannot describe: an embedding model).
AccountLimits = Callable[[str, ModelSpec | None], RateLimits]

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


@dataclass(frozen=True, slots=True)
class LimitedCall:
    """A call as the limits see it: who makes it, the model it names, the API it came in
    by ("chat", "embeddings", ...) and the request id the client is told."""

    principal: Principal
    model: str
    api: str
    request_id: str


OnRefusal = Callable[[LimitedCall, LimitKind], None]


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


class Admissions:
    """One limiter's admissions, shared by every API: a call is counted in all of its
    scopes or in none, and each admitted call is settled exactly once."""

    def __init__(
        self,
        limiter: RateLimiter,
        account_limits: AccountLimits,
        *,
        implied_per_second: bool = True,
        on_refusal: OnRefusal | None = None,
        tracer: Tracer | None = None,
    ) -> None:
        """`on_refusal` hears of every call a limit refused, and why (for the metrics and
        the ledger); with a `tracer`, asking the limiter is an `admit` span."""
        self.limiter = limiter
        self._account = account_limits
        self._implied = implied_per_second
        self._on_refusal = on_refusal
        self._tracer = tracer
        # Keyed by whether the catalogue describes the model too: a chat model and an
        # embedding model of the same name have the same scopes but may have different
        # account defaults.
        self._accounts: dict[tuple[str, bool], tuple[LimitScope | None]] = {}
        self._callers: dict[tuple[str, str, bool], tuple[Principal, tuple[LimitScope, ...]]] = {}
        self._settling: set[asyncio.Future[None]] = set()

    def _scope(self, key: str, limits: RateLimits) -> LimitScope | None:
        if limits.empty:
            return None
        return LimitScope(key, limits.with_implied_per_second() if self._implied else limits)

    def scopes(
        self, principal: Principal, model: str, spec: ModelSpec | None
    ) -> tuple[LimitScope, ...]:
        """The scopes with a limit on a call of `model` (the name the client called it;
        `spec` its catalogue entry, if any), widest first."""
        described = spec is not None
        account = self._accounts.get((model, described))
        if account is None:  # the settings and the catalogue do not change while serving
            account = self._accounts[(model, described)] = (
                self._scope(f"acct|m:{model}", self._account(model, spec)),
            )
        if not principal.workspace_limits and not principal.key_limits:
            return tuple(scope for scope in account if scope is not None)
        # A caller's scopes are the same on every call while its principal is the same
        # object (the key directory keeps one per key for its cache's life).
        mine = self._callers.get((model, principal.key_id, described))
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
        self._callers[(model, principal.key_id, described)] = (principal, scopes)
        return scopes

    async def admit(
        self, call: LimitedCall, scopes: tuple[LimitScope, ...], demand: Demand
    ) -> Admission:
        """The admission of `call` in every one of `scopes`; raises Model Studio's 429
        (`RateLimited`) when any of them has no room, after telling `on_refusal`."""
        if self._tracer is None:
            admission = await self._admission(scopes, demand)
        else:
            span = self._tracer.start_span(
                "admit", attributes={"openscope.scopes": len(scopes), "openscope.model": call.model}
            )
            try:
                admission = await self._admission(scopes, demand)
                span.set_attribute("openscope.admitted", admission.admitted)
                if admission.refused is not None:
                    span.set_attribute("openscope.refused", str(admission.refused))
            finally:
                span.end()
        if admission.admitted:
            return admission
        if self._on_refusal is not None and admission.refused is not None:
            self._on_refusal(call, admission.refused)
        if admission.too_large is not None:
            raise too_large(admission)
        raise rate_limited(admission)

    async def settle(self, ticket: object, used: int) -> None:
        """The admitted call of `ticket` has ended having used `used` tokens. Called from
        a `finally`: it cannot be cut short, and it never raises."""
        if not self.limiter.remote:
            await self._settle(ticket, used)  # no await inside: not cut short
        else:
            # Beside the answer, not before its end: the client does not wait on the
            # limiter's round trip, and a cancelled call cannot cut the settle short.
            self._settle_later(ticket, used)

    async def _admission(self, scopes: tuple[LimitScope, ...], demand: Demand) -> Admission:
        if not self.limiter.remote:
            return await self.limiter.admit(scopes, demand)  # no await inside
        # A client that hangs up while the limiter is asked must not leave its call counted
        # with no one to settle it: the question runs on, and an admission that comes back
        # for nobody is settled at once, as having used nothing.
        asking = asyncio.ensure_future(self.limiter.admit(scopes, demand))
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
        settling = asyncio.ensure_future(self.limiter.settle(ticket, used))
        self._settling.add(settling)
        settling.add_done_callback(self._settled)

    def _settled(self, settling: asyncio.Future[None]) -> None:
        self._settling.discard(settling)
        if not settling.cancelled() and (error := settling.exception()) is not None:
            log.error("could not settle a call's tokens with the rate limiter", exc_info=error)

    async def _settle(self, ticket: object, used: int) -> None:
        try:
            await self.limiter.settle(ticket, used)
        except Exception:
            log.exception("could not settle a call's tokens with the rate limiter")

    async def drain(self) -> None:
        """Wait for the settles still on their way (before the limiter closes)."""
        while self._settling:
            await asyncio.wait(set(self._settling))
