"""Which IP addresses a fetch may connect to.

An address is refused when it lies in a special-purpose range (loopback, private, link-local,
CGNAT, multicast, reserved, ...) unless a network of the policy's allow-list holds it. IPv6 forms
that carry an IPv4 address (IPv4-mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4
`2002::/16`) are judged by the IPv4 address they carry, so `::ffff:127.0.0.1` is loopback.
Anything else that Python's `ipaddress` does not call global is refused as well, so a range
missing from the table below still fails closed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from openscope.tools.fetch.policy import IPNetwork

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _table(*rows: tuple[str, str]) -> tuple[tuple[IPNetwork, str], ...]:
    return tuple((ipaddress.ip_network(cidr), label) for cidr, label in rows)


# Checked in order; the first match names the refusal.
_REFUSED_V4 = _table(
    ("0.0.0.0/8", "unspecified ('this network')"),
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "carrier-grade NAT (shared address space)"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.169.254/32", "link-local (cloud metadata endpoint)"),
    ("169.254.0.0/16", "link-local"),
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "IETF protocol assignments"),
    ("192.0.2.0/24", "documentation"),
    ("192.88.99.0/24", "6to4 relay anycast"),
    ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "benchmarking"),
    ("198.51.100.0/24", "documentation"),
    ("203.0.113.0/24", "documentation"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),
)
_REFUSED_V6 = _table(
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("::/96", "IPv4-compatible (deprecated)"),
    ("::/8", "reserved"),
    ("64:ff9b:1::/48", "local-use NAT64"),
    ("100::/64", "discard-only"),
    ("2001::/23", "IETF protocol assignments"),
    ("2001:db8::/32", "documentation"),
    ("fc00::/7", "unique local (private)"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "site-local (deprecated)"),
    ("ff00::/8", "multicast"),
)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 transition form would deliver to, if it is one."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def is_allowed(address: IPAddress, allow: Iterable[IPNetwork]) -> bool:
    return any(address.version == net.version and address in net for net in allow)


def refusal(address: IPAddress, allow: tuple[IPNetwork, ...] = ()) -> str | None:
    """Why a connection to `address` is refused, or None when it may be made."""
    if is_allowed(address, allow):
        return None
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            # The packet ends up at the IPv4 address, so its verdict is the verdict.
            inner = refusal(embedded, allow)
            return None if inner is None else f"{inner} (as {address.compressed})"
        table = _REFUSED_V6
    else:
        table = _REFUSED_V4
    for network, label in table:
        if address in network:
            return label
    if not address.is_global:
        return "not a globally routable address"
    return None


def parse_literal(host: str) -> IPAddress | None:
    """The address a URL host names literally (brackets and an IPv6 zone allowed), else None."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
