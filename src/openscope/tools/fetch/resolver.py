"""Name resolution for the fetcher: who resolves a host, and the aiohttp resolver that makes
the connection go only to addresses the fetcher has already checked.

The fetcher resolves a hop's host through a `HostResolver` itself, checks every address, and
pins the checked list in a `PinnedResolver`. aiohttp's connector asks that resolver (never the
system) for the host, so it can connect only to a checked address: a DNS answer that changes
between the check and the connect (rebinding) is never seen by the connector.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Sequence
from typing import Protocol

from aiohttp.abc import AbstractResolver, ResolveResult

from openscope.tools.fetch.addresses import IPAddress, parse_literal


class HostResolver(Protocol):
    """Resolves a host name to the addresses a client could connect to."""

    async def resolve(self, host: str, port: int) -> Sequence[IPAddress]:
        """Every address of `host`; an empty list or OSError when it has none."""
        ...


class SystemResolver:
    """The operating system's resolver (`getaddrinfo`, run off the event loop)."""

    async def resolve(self, host: str, port: int) -> Sequence[IPAddress]:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
        found: list[IPAddress] = []
        for _family, _type, _proto, _canonname, sockaddr in infos:
            address = parse_literal(str(sockaddr[0]))
            if address is not None and address not in found:
                found.append(address)
        return found


class PinnedResolver(AbstractResolver):
    """Answers aiohttp only with the addresses pinned for a host; any other host fails.

    One instance belongs to one fetch (the fetcher pins each hop's checked addresses before
    requesting it), so no state outlives the fetch.
    """

    def __init__(self) -> None:
        self._pinned: dict[str, tuple[IPAddress, ...]] = {}

    def pin(self, host: str, addresses: Sequence[IPAddress]) -> None:
        self._pinned[host] = tuple(addresses)

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        addresses = self._pinned.get(host)
        if addresses is None:
            # Not reachable through the fetcher; an OSError is what aiohttp expects here.
            raise OSError(f"{host} was not resolved and checked by the fetcher")
        results: list[ResolveResult] = []
        for address in addresses:
            address_family = socket.AF_INET if address.version == 4 else socket.AF_INET6
            if family not in (socket.AF_UNSPEC, address_family):
                continue
            results.append(
                {
                    "hostname": host,
                    "host": str(address),
                    "port": port,
                    "family": address_family,
                    "proto": socket.IPPROTO_TCP,
                    "flags": socket.AI_NUMERICHOST,
                }
            )
        if not results:
            raise OSError(f"{host} has no checked address of the requested family")
        return results

    async def close(self) -> None:
        self._pinned.clear()
