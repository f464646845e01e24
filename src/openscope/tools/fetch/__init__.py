"""An SSRF-safe HTTP(S) fetcher for the built-in tools (the web extractor's pages).

The API the tool loop calls::

    fetcher = Fetcher(FetchPolicy(...), resolver=None)   # once, at startup
    page: FetchedPage = await fetcher.fetch(url)         # per URL

`fetch` raises only `FetchRefused(reason)` (the policy forbade it: a scheme other than http and
https, an address in a refused range, a content type not accepted) or `FetchFailed(reason)` (DNS,
connection, timeout, HTTP error status, too many redirects); both derive from `FetchError` and
carry a `reason` meant for the model. A body longer than the policy's `max_bytes` is cut there
and the page is marked `truncated`.

What makes it SSRF-safe: for every hop (the URL and each redirect, followed by hand up to
`max_redirects`) the fetcher resolves the host itself, refuses the hop if ANY resolved address is
loopback, private, link-local (cloud metadata included), CGNAT, multicast, reserved or
unspecified (IPv4-mapped and other IPv6 forms of those too) and not in the policy's `allow`
list, then pins the checked addresses in the only resolver aiohttp's connector has, so the
connection goes to an address that was checked (no DNS rebinding between check and connect). No
proxy from the environment, no cookies kept.
"""

from openscope.tools.fetch.addresses import refusal
from openscope.tools.fetch.errors import FetchError, FetchFailed, FetchRefused
from openscope.tools.fetch.fetcher import Fetcher
from openscope.tools.fetch.page import FetchedPage
from openscope.tools.fetch.policy import DEFAULT_CONTENT_TYPES, FetchPolicy, networks
from openscope.tools.fetch.resolver import HostResolver, SystemResolver

__all__ = [
    "DEFAULT_CONTENT_TYPES",
    "FetchError",
    "FetchFailed",
    "FetchPolicy",
    "FetchRefused",
    "FetchedPage",
    "Fetcher",
    "HostResolver",
    "SystemResolver",
    "networks",
    "refusal",
]
