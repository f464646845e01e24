"""How the rate limiter's batches reach Redis: through the redis-py client itself (its
pool, TLS, authentication and reply parsing).

The client's command path costs about 45 us of CPU a command; batching (`batching.py`:
every decision of one loop turn in one script call) pays it once a batch, not once a
decision, which is where the saving is. A RESP connection of our own measured faster
still, but a protocol client is the library's job, not ours.
"""

from __future__ import annotations

from typing import Any, Protocol

import redis.asyncio

Reply = bytes | int | list[Any] | None


class Link(Protocol):
    async def call(self, *args: str | int | bytes) -> Reply:
        """Send one command, return its reply."""

    async def close(self) -> None: ...


def link_for(client: redis.asyncio.Redis) -> Link:
    return ClientLink(client)


class ClientLink:
    """Commands through the client (its pool, its TLS, its retries as configured)."""

    def __init__(self, client: redis.asyncio.Redis) -> None:
        self._client = client

    async def call(self, *args: str | int | bytes) -> Reply:
        reply: Reply = await self._client.execute_command(*args)  # type: ignore[no-untyped-call]
        return reply

    async def close(self) -> None:
        return None  # the client is closed by its owner
