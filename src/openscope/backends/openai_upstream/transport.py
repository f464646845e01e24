"""The one seam between the upstream backend and the network: POST a JSON body and read the
answer, whole or as server-sent-event lines; GET a small page (health, metrics).
`AiohttpTransport` is the real one (a pooled connector per deployment); tests hand the
backend an in-process fake."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
import aiohttp.http_exceptions
import orjson

# What a request to an upstream can fail with on the way (connect, send, read, timeouts).
NETWORK_FAILURES = (
    aiohttp.ClientError,
    aiohttp.http_exceptions.HttpProcessingError,
    TimeoutError,
    OSError,
)


class TransportError(Exception):
    """The upstream could not be reached, or stopped answering in time."""


@dataclass(frozen=True, slots=True)
class Timeouts:
    connect: float = 10.0  # to open the connection
    first_byte: float = 600.0  # from sending the request to the response's head
    between_chunks: float = 300.0  # between two reads of a streamed body


@dataclass(slots=True)
class UpstreamResponse:
    status: int
    headers: Mapping[str, str]
    lines: AsyncIterator[bytes]  # the body, line by line, without the line ends

    async def body(self) -> bytes:
        return b"\n".join([line async for line in self.lines])


class Transport(Protocol):
    def post(
        self, url: str, body: Mapping[str, Any], headers: Mapping[str, str]
    ) -> AbstractAsyncContextManager[UpstreamResponse]:
        """The upstream's answer to a POST of `body` as JSON; raises `TransportError` when
        it cannot be reached or does not answer in time."""
        ...

    async def get(self, url: str, headers: Mapping[str, str]) -> tuple[int, bytes]:
        """The status and body of a GET of `url`, within the connect timeout; raises
        `TransportError` when it cannot be had (unreachable, slow, a body over `MAX_PAGE`)."""
        ...

    async def close(self) -> None: ...


# The largest page a GET reads: a vLLM metrics page with many engines and histograms is a
# few hundred KiB; past this, something other than an engine is answering.
MAX_PAGE = 8 * 1024 * 1024


class AiohttpTransport:
    def __init__(self, *, max_connections: int = 100, timeouts: Timeouts | None = None) -> None:
        self._max_connections = max_connections
        self._timeouts = timeouts or Timeouts()
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        # Built on first use, inside the event loop that serves requests. The cap is per
        # replica (host), so one busy replica's streams never starve another's.
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=0, limit_per_host=self._max_connections)
            # Reads are timed here, per line (the first within first_byte, the later ones
            # within between_chunks): aiohttp's sock_read would time the wait for the head.
            timeout = aiohttp.ClientTimeout(total=None, sock_connect=self._timeouts.connect)
            self._session = aiohttp.ClientSession(connector=connector, timeout=timeout)
        return self._session

    @asynccontextmanager
    async def post(
        self, url: str, body: Mapping[str, Any], headers: Mapping[str, str]
    ) -> AsyncIterator[UpstreamResponse]:
        session = self._client()
        try:
            async with asyncio.timeout(self._timeouts.first_byte):
                response = await session.post(
                    url,
                    data=orjson.dumps(body),
                    headers={"Content-Type": "application/json", **headers},
                )
        except NETWORK_FAILURES as error:
            raise TransportError(f"{type(error).__name__}: {error}") from None
        # The connection goes back to the pool (or is dropped, mid-body) on every way out.
        try:
            yield UpstreamResponse(response.status, response.headers, self._lines(response))
        finally:
            response.release()

    async def _lines(self, response: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
        """The body split into lines by hand: aiohttp's own line reader refuses lines over
        512 KiB, and an engine may send a whole tool call or a token list on one line."""
        pending = b""
        limit = self._timeouts.first_byte
        reads = response.content.iter_any()
        try:
            while True:
                try:
                    async with asyncio.timeout(limit):
                        data = await anext(reads)
                except StopAsyncIteration:
                    break
                limit = self._timeouts.between_chunks
                pending += data
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    yield line.rstrip(b"\r")
            if pending:
                yield pending.rstrip(b"\r")
        except NETWORK_FAILURES as error:
            raise TransportError(f"{type(error).__name__}: {error}") from None

    async def get(self, url: str, headers: Mapping[str, str]) -> tuple[int, bytes]:
        try:
            async with asyncio.timeout(self._timeouts.connect):
                async with self._client().get(url, headers=dict(headers)) as response:
                    page = bytearray()
                    async for data in response.content.iter_any():
                        page += data
                        if len(page) > MAX_PAGE:
                            raise TransportError(f"a page over {MAX_PAGE} bytes")
                    return response.status, bytes(page)
        except NETWORK_FAILURES as error:
            raise TransportError(f"{type(error).__name__}: {error}") from None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
