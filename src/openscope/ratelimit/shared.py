"""`ShareOf`: a limiter that counts each scope against its share of the limits
(`RateLimits.divided`), for a replica that counts on its own: while the shared store is out
of reach, or with several replicas and no shared store at all. With `replicas` replicas each
admitting its share, the whole stays within the limits instead of multiplying them."""

from __future__ import annotations

from dataclasses import replace

from openscope.core.quota import Admission, Demand, LimitScope, RateLimiter


class ShareOf:
    def __init__(self, limiter: RateLimiter, replicas: int) -> None:
        self.remote = limiter.remote
        self._limiter = limiter
        self._replicas = replicas

    async def admit(self, scopes: tuple[LimitScope, ...], demand: Demand) -> Admission:
        shares = tuple(replace(s, limits=s.limits.divided(self._replicas)) for s in scopes)
        return await self._limiter.admit(shares, demand)

    async def settle(self, ticket: object, tokens_used: int) -> None:
        await self._limiter.settle(ticket, tokens_used)

    async def close(self) -> None:
        await self._limiter.close()
