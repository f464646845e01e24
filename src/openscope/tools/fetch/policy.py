"""`FetchPolicy`: the limits of one fetch and the networks exempt from the address checks."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# What the web extractor can turn into text: HTML (trafilatura) and plain text / markdown
# (taken as they are).
DEFAULT_CONTENT_TYPES = frozenset(
    {"text/html", "application/xhtml+xml", "text/plain", "text/markdown"}
)


def networks(*specs: str) -> tuple[IPNetwork, ...]:
    """Parse allow-list entries: an address ("127.0.0.1", "::1") or a CIDR ("10.0.0.0/8").

    Raises ValueError naming the entry that is neither.
    """
    parsed: list[IPNetwork] = []
    for spec in specs:
        try:
            parsed.append(ipaddress.ip_network(spec.strip(), strict=True))
        except ValueError as exc:
            raise ValueError(
                f"allow-list entry {spec!r} is not an address or network: {exc}"
            ) from exc
    return tuple(parsed)


@dataclass(frozen=True)
class FetchPolicy:
    """Limits of one fetch (every redirect hop included) and the address allow-list.

    Defaults:
    - `max_redirects` 5: the sixth redirect fails the fetch.
    - `total_timeout` 20 s for the whole fetch (DNS, every hop, the body).
    - `connect_timeout` 5 s for resolving a hop's host and opening its connection.
    - `max_bytes` 2 MiB of (decompressed) body; a longer body is cut there and the page is
      marked `truncated`, not refused.
    - `content_types`: text/html, application/xhtml+xml, text/plain, text/markdown.
    - `allow`: no network, so loopback, private, link-local (cloud metadata included), CGNAT,
      multicast, reserved and unspecified addresses are all refused. A network listed here is
      reachable whatever range it is in (e.g. `networks("10.1.2.0/24")` for an intranet).
    - `user_agent`: sent on every request.
    """

    max_redirects: int = 5
    total_timeout: float = 20.0
    connect_timeout: float = 5.0
    max_bytes: int = 2 * 1024 * 1024
    content_types: frozenset[str] = DEFAULT_CONTENT_TYPES
    allow: tuple[IPNetwork, ...] = field(default=())
    user_agent: str = "openscope-web-extractor/0.1"

    def __post_init__(self) -> None:
        if self.max_redirects < 0:
            raise ValueError("max_redirects must be >= 0")
        if self.total_timeout <= 0 or self.connect_timeout <= 0:
            raise ValueError("timeouts must be > 0")
        if self.max_bytes <= 0:
            raise ValueError("max_bytes must be > 0")
        if not self.content_types:
            raise ValueError("content_types must name at least one type")
