"""The key `openscope serve` generated for this run, handed to the playground on this
machine so that `make serve` and opening `http://127.0.0.1:8000/` is all a new user does.

Only the generated key is ever handed out (a key from settings or the environment never
is), and only to a request that is this machine's browser, on this page:

- the peer is a loopback address (the key never leaves the machine);
- the Host header names a loopback host, so a page on another site cannot reach the key
  by rebinding its own name to 127.0.0.1 (its requests carry its own name as Host);
- the browser says the request comes from this origin (`Sec-Fetch-Site: same-origin`, and
  an `Origin` equal to this server's if one is sent): another site's page, or a form it
  posts, is refused even where the browser would let it read the answer.

A program on this machine that sends no `Sec-Fetch-Site` header is still refused: every
browser the console supports sends it, and the server's printed line has the key for
anyone at its terminal. `[console] share_generated_key = false` turns this off."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

PATH = "/console/local-key"
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


def _is_loopback_address(host: str | None) -> bool:
    if host is None:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _host_name(netloc: str) -> str | None:
    """The host of a `host[:port]` (brackets around an IPv6 address taken off)."""
    try:
        return urlsplit(f"//{netloc}").hostname
    except ValueError:
        return None


def _names_loopback(netloc: str) -> bool:
    name = _host_name(netloc)
    return name is not None and (name in LOOPBACK_NAMES or _is_loopback_address(name))


def asked_by_local_page(request: Request) -> bool:
    """Whether the request is the console's own page in a browser on this machine."""
    client = request.client
    if client is None or not _is_loopback_address(client.host):
        return False
    host = request.headers.get("host", "")
    if not _names_loopback(host):
        return False
    if request.headers.get("sec-fetch-site") != "same-origin":
        return False
    origin = request.headers.get("origin")
    if origin is not None:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or parts.netloc != host:
            return False
    return True


def local_key_route(key: str) -> Route:
    """`GET /console/local-key`: `{"key": ...}` for the local page, a 403 for anyone else.
    The answer is never cached, so no proxy or disk cache keeps the key."""

    async def local_key(request: Request) -> Response:
        headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
        if not asked_by_local_page(request):
            return JSONResponse(
                {
                    "error": {
                        "message": "The generated key is handed only to the console's page "
                        "in a browser on this machine.",
                        "type": "invalid_request_error",
                        "code": "access_denied",
                    }
                },
                status_code=403,
                headers=headers,
            )
        return JSONResponse({"key": key}, headers=headers)

    return Route(PATH, local_key, methods=["GET"], include_in_schema=False)
