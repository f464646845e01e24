"""`Batcher`: the decisions asked during one turn of the event loop go to Redis as one call
of one script, which runs each of them in turn: one round trip, one command to encode and
one reply to parse for the whole batch, however many admissions and settles are in it.
Under load the calls in flight share that cost instead of each paying its own (the client
library's encoding, parsing and pipelining of a command cost more than Redis's running of
it); a lone call pays one round trip, as before.

Each decision is still atomic (the batch script runs whole, and each decision in it checks
and charges all of its keys or none) and still gets its own reply or its own error: a
decision whose Redis command fails is caught in the script (`pcall`), so it fails alone,
as its own command in a pipeline did. A lost connection fails every call of the batch
alike; a Redis that lacks the script (new, or flushed) ran none of the batch, which is
sent again once the script is loaded.

The script's ARGV holds three words per decision: which procedure (its place in
`procedures`, from 1), how many of KEYS are its keys (they follow the previous decision's),
and its one packed argument. Each procedure is Lua code run as a function of (KEYS, ARGV),
ending in `return <a string or a number>`. The reply joins the decisions' replies, one a
line: `+` and the reply, or `-` and the error."""

from __future__ import annotations

import asyncio
import functools
import hashlib
from collections.abc import Callable, Sequence

from redis.exceptions import NoScriptError, ResponseError

from .link import Link

Queued = tuple[int, Sequence[str], str, "asyncio.Future[str]"]


def batch_script(procedures: Sequence[str], prelude: str = "") -> str:
    """The Lua script that runs a batch of calls to `procedures`, which may use what
    `prelude` defines (Lua run once, before them)."""
    functions = "".join(
        f"procedures[{n}] = function(KEYS, ARGV)\n{body}\nend\n"
        for n, body in enumerate(procedures, start=1)
    )
    return (
        prelude
        + "local procedures = {}\n"
        + functions
        + """
local replies = {}
local taken = 0
for i = 1, #ARGV, 3 do
  local count = tonumber(ARGV[i + 1])
  local keys = {}
  for k = 1, count do keys[k] = KEYS[taken + k] end
  taken = taken + count
  local ok, reply = pcall(procedures[tonumber(ARGV[i])], keys, {ARGV[i + 2]})
  if ok then
    replies[#replies + 1] = '+' .. tostring(reply)
  elseif type(reply) == 'table' and reply.err then
    replies[#replies + 1] = '-' .. reply.err
  else
    replies[#replies + 1] = '-' .. tostring(reply)
  end
end
return table.concat(replies, '\\n')
"""
    )


MAX_IN_FLIGHT = 2
"""Batches sent at once, each over a connection of its own. One alone made a call wait
behind the batch before it (an admission behind the last call's settle: a round trip more
for every lone call); two let the next batch go at once, and under load the calls made
while both are out go together, so the busier Redis is kept, the larger the batches (more
at once made smaller batches: more round trips for the same calls)."""


class Batcher:
    """Calls `procedures` (Lua bodies, see the module's docstring) in batches, each over a
    link that `connect` makes (kept for the next batch)."""

    def __init__(
        self, connect: Callable[[], Link], procedures: Sequence[str], prelude: str = ""
    ) -> None:
        self._connect = connect
        self._idle: list[Link] = []  # links no batch uses now
        self._links: list[Link] = []  # every link made
        self._script = batch_script(procedures, prelude)
        self._sha = hashlib.sha1(self._script.encode()).hexdigest()
        self._queued: list[Queued] = []
        self._sending: set[asyncio.Task[None]] = set()

    def call_nowait(self, procedure: int, keys: Sequence[str], packed: str) -> asyncio.Future[str]:
        """Queue a call of `procedures[procedure]` (from 0) with `keys` and its one packed
        argument; its reply (a string), or its error, comes in the future. The call is
        made whatever becomes of the future: cancelling it only drops the reply."""
        loop = asyncio.get_running_loop()
        reply: asyncio.Future[str] = loop.create_future()
        self._queued.append((procedure + 1, keys, packed, reply))
        if len(self._queued) == 1 and len(self._sending) < MAX_IN_FLIGHT:
            loop.call_soon(self._send_queued)  # after the other calls of this loop turn
        return reply

    async def call(self, procedure: int, keys: Sequence[str], packed: str) -> str:
        return await self.call_nowait(procedure, keys, packed)

    def _send_queued(self) -> None:
        if len(self._sending) >= MAX_IN_FLIGHT or not self._queued:
            return
        batch, self._queued = self._queued, []
        if self._idle:
            link = self._idle.pop()
        else:
            link = self._connect()
            self._links.append(link)
        task = asyncio.get_running_loop().create_task(self._send(link, batch))
        self._sending.add(task)
        task.add_done_callback(functools.partial(self._sent, link))

    def _sent(self, link: Link, task: asyncio.Task[None]) -> None:
        self._sending.discard(task)
        self._idle.append(link)
        if not task.cancelled():
            self._send_queued()

    async def _execute(self, link: Link, batch: list[Queued]) -> list[str]:
        keys: list[str] = []
        args: list[str | int] = []
        for procedure, its_keys, packed, _ in batch:
            keys += its_keys
            args += (procedure, len(its_keys), packed)
        reply = await link.call("EVALSHA", self._sha, len(keys), *keys, *args)
        if not isinstance(reply, bytes):
            raise ResponseError(f"the batch script answered {reply!r}")
        return reply.decode().split("\n")

    async def _send(self, link: Link, batch: list[Queued]) -> None:
        try:
            try:
                replies = await self._execute(link, batch)
            except NoScriptError:
                # A new (or flushed) Redis ran none of the batch: load the script, send again.
                await link.call("SCRIPT", "LOAD", self._script)
                replies = await self._execute(link, batch)
            if len(replies) != len(batch):
                raise ResponseError(f"{len(replies)} replies to a batch of {len(batch)} calls")
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
            if answer.startswith("+"):
                reply.set_result(answer[1:])
            else:
                reply.set_exception(ResponseError(answer[1:]))

    async def close(self) -> None:
        """Wait for the batches in flight, then close the links."""
        while self._sending:
            await asyncio.wait(set(self._sending))
        for link in self._links:
            await link.close()
