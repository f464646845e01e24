"""`Fetcher`: GET one http(s) URL under a `FetchPolicy`, following redirects by hand.

Per hop: the URL's scheme must be http or https; its host is resolved by the fetcher's
`HostResolver` (a literal address is taken as it is) and EVERY address is checked against the
policy (`addresses.refusal`); only then are the addresses pinned in the session's
`PinnedResolver`, the only resolver aiohttp's connector has, so the connection goes to a checked
address. A redirect's Location starts the next hop, checked the same way.
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp
from yarl import URL

from openscope.tools.fetch.addresses import parse_literal, refusal
from openscope.tools.fetch.errors import FetchError, FetchFailed, FetchRefused
from openscope.tools.fetch.page import FetchedPage
from openscope.tools.fetch.policy import FetchPolicy
from openscope.tools.fetch.resolver import HostResolver, PinnedResolver, SystemResolver

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_SCHEMES = frozenset({"http", "https"})
_CHUNK = 64 * 1024


log = logging.getLogger("openscope.tools.fetch")


class Fetcher:
    """Fetches pages under one policy; safe to share across tasks (each fetch has its own
    session and pins)."""

    def __init__(self, policy: FetchPolicy | None = None, resolver: HostResolver | None = None):
        self.policy = policy or FetchPolicy()
        self.resolver: HostResolver = resolver or SystemResolver()

    async def fetch(self, url: str) -> FetchedPage:
        """The page at `url`; raises only FetchRefused or FetchFailed."""
        deadline = asyncio.timeout(self.policy.total_timeout)
        try:
            async with deadline:
                return await self._fetch(url)
        except FetchError:
            raise
        except TimeoutError as exc:
            if deadline.expired():
                reason = f"the fetch took longer than {self.policy.total_timeout:g} s"
            else:
                reason = f"timed out: {exc or 'no answer'}"
            raise FetchFailed(reason) from exc
        except aiohttp.ClientError as exc:
            raise FetchFailed(f"{type(exc).__name__}: {exc}") from exc
        except Exception as exc:
            # The tool loop shows a failure to the model as a tool result; an exception of
            # another type would escape it, so whatever else goes wrong is a FetchFailed too.
            raise FetchFailed(f"{type(exc).__name__}: {exc}") from exc

    async def _fetch(self, url: str) -> FetchedPage:
        policy = self.policy
        pins = PinnedResolver()
        connector = aiohttp.TCPConnector(resolver=pins, use_dns_cache=False)
        session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,  # an environment proxy would connect where we did not check
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=policy.connect_timeout),
            headers={
                "User-Agent": policy.user_agent,
                "Accept": ", ".join(sorted(policy.content_types)),
            },
        )
        async with session:
            current = _checked_url(url)
            redirects: list[str] = []
            while True:
                await self._admit(current, pins)
                async with session.get(current, allow_redirects=False) as response:
                    if response.status in _REDIRECTS:
                        if len(redirects) >= policy.max_redirects:
                            raise FetchFailed(f"more than {policy.max_redirects} redirects")
                        current = _next_hop(response)
                        redirects.append(str(current))
                        continue
                    return await self._page(url, response, tuple(redirects))

    async def _admit(self, url: URL, pins: PinnedResolver) -> None:
        """Refuse the hop unless every address its host stands for may be connected to."""
        host = url.raw_host or ""
        allow = self.policy.allow
        literal = parse_literal(host)
        if literal is not None:
            reason = refusal(literal, allow)
            if reason is not None:
                raise FetchRefused(f"{host} is not allowed: {reason} address")
            return  # aiohttp connects to a literal address without asking a resolver
        if ":" in host or host.replace(".", "").isdigit():
            # aiohttp (before 3.14) would hand a form like "127.1" or "2130706433" to the
            # socket as an address, bypassing the pinned resolver.
            raise FetchRefused(f"{host!r} is not a canonical IP address")
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            async with asyncio.timeout(self.policy.connect_timeout):
                addresses = list(await self.resolver.resolve(host, port))
        except TimeoutError as exc:
            raise FetchFailed(
                f"resolving {host} took longer than {self.policy.connect_timeout:g} s"
            ) from exc
        except OSError as exc:
            raise FetchFailed(f"could not resolve {host}: {exc}") from exc
        if not addresses:
            raise FetchFailed(f"could not resolve {host}: no address")
        for address in addresses:
            reason = refusal(address, allow)
            if reason is not None:
                # The client and the model read the reason: the kind of address, never the
                # address (that would map the internal network); the log has it.
                log.info("refused %s: it resolves to %s (%s)", host, address, reason)
                raise FetchRefused(f"{host} resolves to a {reason} address, which is not allowed")
        pins.pin(host, addresses)

    async def _page(
        self, url: str, response: aiohttp.ClientResponse, redirects: tuple[str, ...]
    ) -> FetchedPage:
        policy = self.policy
        if not 200 <= response.status < 300:
            raise FetchFailed(f"HTTP {response.status} {response.reason or ''}".rstrip())
        declared = "Content-Type" in response.headers
        content_type = response.content_type.lower() if declared else "(none)"
        if content_type not in policy.content_types:
            accepted = ", ".join(sorted(policy.content_types))
            raise FetchRefused(f"content type {content_type} is not accepted ({accepted})")
        chunks: list[bytes] = []
        size = 0
        truncated = False
        async for chunk in response.content.iter_chunked(_CHUNK):
            chunks.append(chunk)
            size += len(chunk)
            if size > policy.max_bytes:
                truncated = True  # stop reading: the rest never leaves the socket buffer
                break
        return FetchedPage(
            url=url,
            final_url=str(response.url),
            status=response.status,
            content_type=content_type,
            charset=response.charset,
            body=b"".join(chunks)[: policy.max_bytes],
            truncated=truncated,
            redirects=redirects,
        )


def _checked_url(raw: str | URL) -> URL:
    try:
        url = raw if isinstance(raw, URL) else URL(raw)
    except (ValueError, TypeError) as exc:
        raise FetchRefused(f"not a valid URL: {exc}") from exc
    scheme = url.scheme.lower()
    if scheme not in _SCHEMES:
        shown = f"scheme {scheme!r}" if scheme else "a URL without a scheme"
        raise FetchRefused(f"{shown} is not allowed (only http and https)")
    if not url.raw_host:
        raise FetchRefused("the URL has no host")
    return url


def _next_hop(response: aiohttp.ClientResponse) -> URL:
    location = response.headers.get("Location")
    if not location:
        raise FetchFailed(f"HTTP {response.status} redirect without a Location")
    try:
        target = response.url.join(URL(location))
    except (ValueError, TypeError) as exc:
        raise FetchFailed(f"redirect to an invalid URL {location!r}: {exc}") from exc
    return _checked_url(target)
