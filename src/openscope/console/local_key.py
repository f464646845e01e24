"""The key `openscope serve` generated for this run, handed to the playground on this
machine so that `make serve` and opening `http://127.0.0.1:8000/` is all a new user does.

Only the generated key is ever handed out (a key from settings or the environment never
is), and only to the console's page in a browser of the user who started the server:

- the peer is a loopback address, and (on Linux, where the kernel says who owns each
  socket) its socket belongs to the server's own user: another user of the machine, or a
  proxy running as a service user, is refused;
- no forwarding header (`Forwarded`, `X-Forwarded-*`, `X-Real-IP`, `Via`): a reverse proxy
  or tunnel on this machine would otherwise make a remote visitor look local;
- it is a POST, so the browser sends `Origin` even from the same origin, and that origin
  must be this server's own loopback address, equal to the Host header: a page of another
  site, or one reached by rebinding its own DNS name to 127.0.0.1, is refused;
- the browser says the request comes from this origin (`Sec-Fetch-Site: same-origin`).

A program run by the same user can still ask, with the right headers: it could as well
read the key from the server's output. `[console] share_generated_key = false` turns the
hand-over off, and a configured key never takes part."""

from __future__ import annotations

import ipaddress
import os
import re
import socket
from collections.abc import Callable
from pathlib import Path

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

PATH = "/console/local-key"
# What a browser sends as Host for this server on loopback: nothing else, no user info,
# no fragment, a port of at most five digits.
LOOPBACK_HOST = re.compile(r"(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])(?::\d{1,5})?")
FORWARDING_HEADERS = ("forwarded", "x-forwarded-for", "x-forwarded-host", "x-real-ip", "via")
SOCKET_TABLES = (Path("/proc/net/tcp"), Path("/proc/net/tcp6"))

# (client host, client port), (server host, port) -> the uid owning the client's socket,
# or None when it cannot be told.
SocketOwner = Callable[[tuple[str, int], tuple[str, int]], int | None]


def _kernel_address(host: str, port: int) -> str:
    """An address as /proc/net/tcp{,6} prints it: the address's 32-bit words each in the
    host's byte order (little-endian here), then the port, in upper-case hex."""
    address = ipaddress.ip_address(host)
    if address.version == 4:
        packed = socket.inet_pton(socket.AF_INET, host)
    else:
        packed = socket.inet_pton(socket.AF_INET6, host)
    words = "".join(packed[i : i + 4][::-1].hex() for i in range(0, len(packed), 4))
    return f"{words.upper()}:{port:04X}"


def _ipv4_mapped(host: str) -> str | None:
    address = ipaddress.ip_address(host)
    return f"::ffff:{address}" if address.version == 4 else None


def socket_owner(client: tuple[str, int], server: tuple[str, int]) -> int | None:
    """The uid owning the client's end of a TCP connection on this machine, from the
    kernel's socket tables (Linux); None when there are no such tables or no such socket."""
    pairs = {(_kernel_address(*client), _kernel_address(*server))}
    mapped_client, mapped_server = _ipv4_mapped(client[0]), _ipv4_mapped(server[0])
    if mapped_client and mapped_server:  # a dual-stack listener sees IPv4 peers as mapped
        pairs.add(
            (_kernel_address(mapped_client, client[1]), _kernel_address(mapped_server, server[1]))
        )
    for table in SOCKET_TABLES:
        try:
            lines = table.read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 7 and (fields[1], fields[2]) in pairs:
                return int(fields[7])
    return None


def _is_loopback_address(host: str | None) -> bool:
    if host is None:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _from_local_page(request: Request) -> bool:
    """The checks on the request itself (the socket's owner is checked apart)."""
    client = request.client
    if client is None or not _is_loopback_address(client.host):
        return False
    if any(name in request.headers for name in FORWARDING_HEADERS):
        return False
    host = request.headers.get("host", "")
    if not LOOPBACK_HOST.fullmatch(host):
        return False
    if request.headers.get("sec-fetch-site") != "same-origin":
        return False
    return request.headers.get("origin") == f"http://{host}"


def local_key_route(key: str | None, *, owner: SocketOwner = socket_owner) -> Route:
    """`POST /console/local-key`: `{"key": ...}` for the local page, a 403 for anyone else;
    a 204 for everyone when the server generated no key (keys configured, or not shared).
    `owner` tells who owns a peer's socket (tests pass their own). The answer is never
    cached, so no proxy or disk cache keeps the key."""
    server_uid = os.getuid()
    kernel_knows = any(table.exists() for table in SOCKET_TABLES)

    async def local_key(request: Request) -> Response:
        headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
        if key is None:
            return Response(status_code=204, headers=headers)
        allowed = _from_local_page(request)
        if allowed and kernel_knows:
            client, server = request.client, request.scope.get("server")
            if client is None or server is None or server[1] is None:
                allowed = False
            else:
                uid = await anyio.to_thread.run_sync(
                    owner, (client.host, client.port), (server[0], server[1])
                )
                allowed = uid == server_uid
        if not allowed:
            return JSONResponse(
                {
                    "error": {
                        "message": "The generated key is handed only to the console's page "
                        "in a browser of the user who started the server, on its machine.",
                        "type": "invalid_request_error",
                        "code": "access_denied",
                    }
                },
                status_code=403,
                headers=headers,
            )
        return JSONResponse({"key": key}, headers=headers)

    return Route(PATH, local_key, methods=["POST"], include_in_schema=False)
