"""`ShareOf`: a limiter that counts each scope against its share of the limits
(`RateLimits.divided`), for a replica that counts on its own: while the shared store is out
of reach, or with several replicas and no shared store at all. With `replicas` replicas each
admitting its share, the whole stays within the limits instead of multiplying them."""

from __future__ import annotations

from dataclasses import replace

from openscope.core.quota import Admission, Demand, LimitScope, RateLimiter

from .plan import plan, too_large

RETRY_WHILE_AWAY = 1.0
"""The retry hint for a call too large for a replica's share while the shared store is
away: it fits the whole limits, and will pass once the store is back."""


class ShareOf:
    """`while_away`: the shares stand in for a shared store that is out of reach for now
    (the degraded mode), not for good (several replicas and no shared store). A call the
    whole limits could never admit is refused for good either way; one only its share
    cannot hold is, while away, an ordinary refusal to retry, not a permanent one."""

    def __init__(self, limiter: RateLimiter, replicas: int, *, while_away: bool) -> None:
        self.remote = limiter.remote
        self._limiter = limiter
        self._replicas = replicas
        self._while_away = while_away

    async def admit(self, scopes: tuple[LimitScope, ...], demand: Demand) -> Admission:
        if self._replicas > 1:
            oversized = too_large(plan(scopes, demand))
            if oversized is not None:  # judged against the whole limits, not a share
                kind, what = oversized
                return Admission(admitted=False, refused=kind, too_large=what)
        shares = tuple(replace(s, limits=s.limits.divided(self._replicas)) for s in scopes)
        admission = await self._limiter.admit(shares, demand)
        if admission.too_large is not None and self._while_away:
            return admission._replace(too_large=None, retry_after=RETRY_WHILE_AWAY)
        return admission

    async def settle(self, ticket: object, tokens_used: int) -> None:
        await self._limiter.settle(ticket, tokens_used)

    async def close(self) -> None:
        await self._limiter.close()
