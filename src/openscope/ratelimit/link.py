"""How the rate limiter's batches reach Redis: `link_for(client)` is a `RawLink`, one
connection of its own speaking RESP directly, when the client connects over plain TCP or a
Unix socket, and otherwise (TLS, or a client type it does not know) a `ClientLink` through
the client itself.

Why a connection of its own: every decision goes through here, and the client library's
command path (its connection pool, encoding, reply parser and timeout handling) cost about
45 us of CPU a command, several times what writing the command and reading a bulk-string
reply costs. The link is used by one batch at a time (`batching.Batcher` waits for a
batch's reply before it sends the next), so it needs no pipelining of its own.

Failures look as they do through the client: an unreachable or silent Redis raises
`OSError` (`ConnectionRefusedError`, `TimeoutError`, ...) and drops the connection (the next
call connects again), a missing script raises `NoScriptError`, any other error reply
`ResponseError`."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Protocol

import redis.asyncio
from redis.asyncio.connection import Connection, UnixDomainSocketConnection
from redis.exceptions import AuthenticationError, NoScriptError, ResponseError

Reply = bytes | int | list[Any] | None


class Link(Protocol):
    async def call(self, *args: str | int | bytes) -> Reply:
        """Send one command, return its reply."""

    async def close(self) -> None: ...


def link_for(client: redis.asyncio.Redis) -> Link:
    pool = client.connection_pool
    kind = pool.connection_class
    if kind is Connection or kind is UnixDomainSocketConnection:
        return RawLink(pool.connection_kwargs, unix=kind is UnixDomainSocketConnection)
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


def command(*args: str | int | bytes) -> bytes:
    """`args` as one RESP command (an array of bulk strings)."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


class RawLink:
    """One connection, opened on first use with the client's address, credentials, db and
    timeouts (`connection_kwargs` of its pool)."""

    def __init__(self, options: Mapping[str, Any], *, unix: bool = False) -> None:
        self._options = options
        self._unix = unix
        self._timeout: float | None = options.get("socket_timeout")
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def call(self, *args: str | int | bytes) -> Reply:
        try:
            async with asyncio.timeout(self._timeout):
                reader, writer = self._streams or await self._connect()
                writer.write(command(*args))
                return await self._reply(reader)
        except ResponseError:
            raise  # an error reply, read whole: the connection is as good as before
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError) as error:
            await self.close()
            raise ConnectionError(f"Redis closed the connection: {error!r}") from error
        except BaseException:
            # Whatever was cut short (a timeout, a lost connection, a cancelled caller)
            # leaves a reply unread: the connection cannot be trusted with the next call.
            await self.close()
            raise

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        options = self._options
        async with asyncio.timeout(options.get("socket_connect_timeout")):
            if self._unix:
                reader, writer = await asyncio.open_unix_connection(options["path"])
            else:
                reader, writer = await asyncio.open_connection(
                    options.get("host", "localhost"), options.get("port", 6379)
                )
        try:
            password = options.get("password")
            if password is not None:
                username = options.get("username")
                writer.write(command("AUTH", *([username] if username else []), password))
                try:
                    await self._reply(reader)
                except ResponseError as error:
                    raise AuthenticationError(str(error)) from None
            db = options.get("db") or 0
            if db:
                writer.write(command("SELECT", db))
                await self._reply(reader)
        except BaseException:
            writer.close()
            raise
        self._streams = reader, writer
        return reader, writer

    async def _reply(self, reader: asyncio.StreamReader) -> Reply:
        line = await reader.readuntil(b"\r\n")
        kind, rest = line[:1], line[1:-2]
        if kind == b"$":
            size = int(rest)
            if size < 0:
                return None
            return (await reader.readexactly(size + 2))[:-2]
        if kind == b"+":
            return rest
        if kind == b":":
            return int(rest)
        if kind == b"-":
            message = rest.decode(errors="replace")
            if message.startswith("NOSCRIPT"):
                raise NoScriptError(message)
            raise ResponseError(message)
        if kind == b"*":
            count = int(rest)
            if count < 0:
                return None
            return [await self._reply(reader) for _ in range(count)]
        raise ConnectionError(f"unexpected reply from Redis: {line[:40]!r}")

    async def close(self) -> None:
        streams, self._streams = self._streams, None
        if streams is not None:
            streams[1].close()
