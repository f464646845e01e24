"""`Coalescer`: the script calls made during one turn of the event loop go to Redis in one
pipeline, one round trip for all of them. Under load, the admissions and settles of the
calls in flight share round trips instead of each paying its own; a lone call pays one
round trip, as before. Each call still gets its own reply (or its own error); a lost
connection fails every call of the batch alike."""

from __future__ import annotations

import asyncio
from typing import Any

import redis.asyncio
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError

Queued = tuple[AsyncScript, list[str], list[str | int], "asyncio.Future[Any]"]


class Coalescer:
    def __init__(self, client: redis.asyncio.Redis) -> None:
        self._client = client
        self._queued: list[Queued] = []
        self._sending: set[asyncio.Task[None]] = set()

    async def call(self, script: AsyncScript, keys: list[str], args: list[str | int]) -> Any:
        loop = asyncio.get_running_loop()
        reply: asyncio.Future[Any] = loop.create_future()
        self._queued.append((script, keys, args, reply))
        if len(self._queued) == 1:
            loop.call_soon(self._send_queued)
        return await reply

    async def _execute(self, batch: list[Queued]) -> list[Any]:
        # EVALSHA by hand: a pipeline given the script objects asks SCRIPT EXISTS first,
        # a round trip of its own every time.
        pipe = self._client.pipeline(transaction=False)
        for script, keys, args, _ in batch:
            pipe.evalsha(script.sha, len(keys), *keys, *args)
        replies: list[Any] = await pipe.execute(raise_on_error=False)
        return replies

    def _send_queued(self) -> None:
        batch, self._queued = self._queued, []
        task = asyncio.get_running_loop().create_task(self._send(batch))
        self._sending.add(task)  # held until done: a task nobody references may vanish
        task.add_done_callback(self._sending.discard)

    async def _send(self, batch: list[Queued]) -> None:
        try:
            replies = await self._execute(batch)
            again = [i for i, answer in enumerate(replies) if isinstance(answer, NoScriptError)]
            if again:
                # A new (or flushed) Redis: load the scripts it lacks, then send again only
                # the calls it did not run (the others must not run twice).
                for script in {batch[i][0] for i in again}:
                    script.sha = await self._client.script_load(script.script)
                for i, answer in zip(
                    again, await self._execute([batch[i] for i in again]), strict=True
                ):
                    replies[i] = answer
        except BaseException as error:
            for *_, reply in batch:
                if not reply.done():
                    reply.set_exception(error)
            if not isinstance(error, Exception):
                raise
            return
        for (*_, reply), answer in zip(batch, replies, strict=True):
            if reply.done():  # its caller went away
                continue
            if isinstance(answer, Exception):
                reply.set_exception(answer)
            else:
                reply.set_result(answer)
