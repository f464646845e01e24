"""A connection to an MCP server a request names, made safely: the official `mcp` SDK's
client session over its SSE or Streamable HTTP transport, on an HTTP client that can reach
only addresses the fetcher's rules allow.

Before connecting, the URL's host is resolved here and every address checked with the
web fetcher's rules (`tools.fetch.refusal`: loopback, private, link-local and cloud
metadata, CGNAT, multicast, reserved refused unless the settings' `allow_networks` hold
them). The checked addresses are then pinned: the HTTP client's network backend connects
to them only (TLS still verifies the host name), so a DNS answer that changes between the
check and the connection (rebinding) is never used. The SDK follows a redirect only within
the URL's origin, so no hop leaves the checked host. No proxy from the environment.

What a server sends is bounded where it is read: every response body on a connection counts
against one `ReplyBudget` (`max_reply_bytes`), and the byte past it fails the read
(`ReplyTooLarge`), before the SDK decodes or parses anything of it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpcore2
import httpx2
from mcp.client.session import ClientSession
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client

from openscope.core.builtin_tools import Mcp
from openscope.tools.fetch import HostResolver, SystemResolver, refusal
from openscope.tools.fetch.addresses import IPAddress, parse_literal
from openscope.tools.fetch.policy import IPNetwork
from openscope.tools.mcp.listing import ListingLimits

# What a server's tool output is cut to (characters) before the model reads it.
DEFAULT_MAX_OUTPUT_CHARS = 20_000
# The bytes one connection (a listing of every page, or one call) may read from a server.
DEFAULT_MAX_REPLY_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class McpPolicy:
    """How the server's MCP client behaves. `connect_timeout`: seconds to connect and
    finish the MCP handshake; `call_timeout`: seconds one listing or tool call may take
    once connected; `allow`: networks reachable despite the address rules;
    `max_output_chars`: a tool's output the model reads at most (longer is cut);
    `max_reply_bytes`: the bytes one connection reads from the server at most (past them
    the listing or call fails); `listing`: the pages, tools and size of a tool's entry a
    listing keeps at most."""

    connect_timeout: float = 10.0
    call_timeout: float = 60.0
    allow: tuple[IPNetwork, ...] = ()
    max_output_chars: int = DEFAULT_MAX_OUTPUT_CHARS
    max_reply_bytes: int = DEFAULT_MAX_REPLY_BYTES
    listing: ListingLimits = field(default_factory=ListingLimits)

    def __post_init__(self) -> None:
        if self.connect_timeout <= 0 or self.call_timeout <= 0 or self.max_output_chars < 1:
            raise ValueError("the MCP client's limits must be positive")
        if self.max_reply_bytes < 1:
            raise ValueError("the MCP client's limits must be positive")


class ReplyTooLarge(httpx2.StreamError):
    """A server sent more than a connection may read. A stream error, so that the SDK
    fails the request it was answering at once (rather than waiting for a reply)."""


class ReplyBudget:
    """The bytes a connection may still read from its server; `exceeded` once one more
    was sent. One per connection: every response body on it counts."""

    def __init__(self, most: int) -> None:
        self.most = most
        self.read = 0

    @property
    def exceeded(self) -> bool:
        return self.read > self.most

    def take(self, size: int) -> None:
        self.read += size
        if self.exceeded:
            raise ReplyTooLarge(f"the server sent more than {self.most} bytes")


class _CappedStream(httpx2.AsyncByteStream):
    """A response body that stops at its connection's budget."""

    def __init__(self, inner: httpx2.AsyncByteStream, budget: ReplyBudget) -> None:
        self._inner = inner
        self._budget = budget

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            self._budget.take(len(chunk))
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


class McpRefused(Exception):
    """The server may not be reached (a URL or an address the rules refuse); the message
    says why, for the client and the model."""


class _PinnedBackend(httpcore2.AsyncNetworkBackend):
    """Connects only to the addresses checked for a host, whatever DNS says now."""

    def __init__(self, pinned: Mapping[str, Sequence[IPAddress]]) -> None:
        self._pinned = {host.lower(): tuple(addresses) for host, addresses in pinned.items()}
        self._inner = httpcore2.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        addresses = self._pinned.get(host.strip("[]").lower())
        if not addresses:
            raise httpcore2.ConnectError(f"{host} was not checked before connecting")
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore2.ConnectError, httpcore2.ConnectTimeout) as error:
                failure = error
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        raise httpcore2.ConnectError("an MCP server is reached over TCP only")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _PinnedTransport(httpx2.AsyncHTTPTransport):
    def __init__(self, backend: _PinnedBackend, budget: ReplyBudget) -> None:
        super().__init__(trust_env=False)
        # The transport's pool, rebuilt on the pinned network backend: httpx2 takes no
        # backend of its own, and this is the one place connections are opened.
        self._pool = httpcore2.AsyncConnectionPool(
            ssl_context=httpx2.create_ssl_context(trust_env=False),
            network_backend=backend,
        )
        self._budget = budget

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await super().handle_async_request(request)
        assert isinstance(response.stream, httpx2.AsyncByteStream)
        response.stream = _CappedStream(response.stream, self._budget)
        return response


async def checked_addresses(
    url: str, allow: tuple[IPNetwork, ...], resolver: HostResolver, *, trusted: bool = False
) -> tuple[str, tuple[IPAddress, ...]]:
    """The URL's host and its addresses, every one allowed (`trusted`: any address, for a
    server the operator declared); raises `McpRefused`."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise McpRefused("the server_url must be an http or https URL with a host")
    host = parts.hostname
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise McpRefused("the server_url has an invalid port") from None
    literal = parse_literal(host)
    if literal is not None:
        addresses: Sequence[IPAddress] = [literal]
    else:
        try:
            addresses = await resolver.resolve(host, port)
        except OSError as error:
            raise McpRefused(f"could not resolve {host}: {error}") from None
        if not addresses:
            raise McpRefused(f"could not resolve {host}: no address")
    for address in () if trusted else addresses:
        reason = refusal(address, allow)
        if reason is not None:
            raise McpRefused(f"{host} is a {reason} address, which may not be reached")
    return host, tuple(addresses)


def _client(
    host: str,
    addresses: tuple[IPAddress, ...],
    headers: Mapping[str, str],
    timeout: httpx2.Timeout,
    budget: ReplyBudget,
) -> httpx2.AsyncClient:
    transport = _PinnedTransport(_PinnedBackend({host: addresses}), budget)
    return httpx2.AsyncClient(
        transport=transport, headers=dict(headers), timeout=timeout, trust_env=False
    )


@asynccontextmanager
async def connect(
    spec: Mcp,
    policy: McpPolicy,
    resolver: HostResolver | None = None,
    budget: ReplyBudget | None = None,
) -> AsyncIterator[ClientSession]:
    """An initialised session with the server `spec` names, closed on exit. Raises
    `McpRefused` before connecting; anything the SDK or HTTP raises goes on up (the caller
    turns it into a failure; its `asyncio.timeout` bounds the handshake). A server the
    settings declare (`spec.declared`) may be at any address: the operator named it.
    `budget`: what the connection may read (a fresh one of `policy.max_reply_bytes` if
    none; pass one to tell afterwards whether a failure was its being spent)."""
    budget = budget or ReplyBudget(policy.max_reply_bytes)
    host, addresses = await checked_addresses(
        spec.server_url, policy.allow, resolver or SystemResolver(), trusted=spec.declared
    )
    # The read timeout bounds a wait for the server's next bytes; the calls' own timeout
    # (`call_timeout`) is the session's, and the caller's bounds the whole.
    timeout = httpx2.Timeout(policy.connect_timeout, read=policy.call_timeout + 5.0)
    if spec.server_protocol == "sse":

        def factory(
            headers: dict[str, str] | None = None,
            timeout: httpx2.Timeout | None = None,
            auth: httpx2.Auth | None = None,
        ) -> httpx2.AsyncClient:
            return _client(host, addresses, headers or {}, timeout or httpx2.Timeout(30.0), budget)

        transport = sse_client(
            spec.server_url,
            headers=dict(spec.headers),
            timeout=policy.connect_timeout,
            sse_read_timeout=policy.call_timeout + 5.0,
            httpx_client_factory=factory,
        )
        async with (
            transport as (read, write),
            ClientSession(read, write, read_timeout_seconds=policy.call_timeout) as session,
        ):
            await session.initialize()
            yield session
        return
    if spec.server_protocol != "streamable_http":
        raise McpRefused(f"unknown server_protocol {spec.server_protocol!r}")
    async with (
        _client(host, addresses, spec.headers, timeout, budget) as client,
        streamable_http_client(spec.server_url, http_client=client) as (read, write),
        ClientSession(read, write, read_timeout_seconds=policy.call_timeout) as session,
    ):
        await session.initialize()
        yield session
