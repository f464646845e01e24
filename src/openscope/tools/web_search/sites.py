"""Site allow-lists: turning what a client wrote (`example.com`, `https://www.example.com/x`,
`*.example.com`) into a host, and deciding whether a result's URL belongs to one of them."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit


def normalise_site(site: str) -> str:
    """The lower-case host a site entry names; "" when it names none."""
    text = site.strip().lower()
    # urlsplit only finds the host after a scheme or "//".
    host = urlsplit(text if "//" in text else f"//{text}").hostname or ""
    return host.removeprefix("*.").strip(".")


def host_of(url: str) -> str:
    """The lower-case host of a URL, "" when it has none."""
    try:
        return (urlsplit(url).hostname or "").strip(".")
    except ValueError:  # a malformed IPv6 literal
        return ""


def site_name_of(url: str) -> str:
    """What a result shows as its site when the source names none: the host without `www.`."""
    return host_of(url).removeprefix("www.")


def host_allowed(host: str, sites: Sequence[str]) -> bool:
    """Whether `host` is one of the (normalised) `sites` or a subdomain of one; every host
    is allowed by an empty list. `www.` on either side is ignored, so `www.example.com`
    admits `example.com` and the other way round."""
    if not sites:
        return True
    host = host.lower().removeprefix("www.")
    for site in sites:
        bare = site.removeprefix("www.")
        if host == bare or host.endswith("." + bare):
            return True
    return False
