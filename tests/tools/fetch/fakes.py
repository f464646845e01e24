"""Test doubles for the fetcher: a resolver answering from a table (no real DNS) and a page
server on 127.0.0.1 that records the paths it was asked for."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from aiohttp import web
from aiohttp.test_utils import TestServer

from openscope.tools.fetch.addresses import IPAddress


class StaticResolver:
    """Answers each host from `table`; later answers (`then`) model a DNS rebinding."""

    def __init__(
        self, table: dict[str, Sequence[str]], then: dict[str, Sequence[str]] | None = None
    ) -> None:
        self.table = table
        self.then = then or {}
        self.asked: list[str] = []

    async def resolve(self, host: str, port: int) -> Sequence[IPAddress]:
        first = host not in self.asked
        self.asked.append(host)
        answers = self.table if first or host not in self.then else self.then
        if host not in answers:
            raise OSError(f"no such host {host}")
        return [ipaddress.ip_address(a) for a in answers[host]]


ARTICLE = b"<html><head><title>Hello</title></head><body><p>Hello, world.</p></body></html>"


def _app(seen: list[str]) -> web.Application:
    async def record(request: web.Request, handler: object) -> web.StreamResponse:
        seen.append(request.path_qs)
        return await handler(request)  # type: ignore[operator, no-any-return]

    async def page(request: web.Request) -> web.Response:
        return web.Response(body=ARTICLE, content_type="text/html", charset="utf-8")

    async def latin1(request: web.Request) -> web.Response:
        body = "<html><body><p>Caf\xe9</p></body></html>".encode("latin-1")
        return web.Response(body=body, content_type="text/html", charset="iso-8859-1")

    async def sized(request: web.Request) -> web.Response:
        return web.Response(body=b"a" * int(request.match_info["n"]), content_type="text/plain")

    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/html"})
        await response.prepare(request)
        try:
            while True:  # until the client hangs up
                await response.write(b"<p>" + b"x" * 65536 + b"</p>")
                await asyncio.sleep(0)
        except (ConnectionError, RuntimeError):
            pass
        return response

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(10)
        return web.Response(text="late", content_type="text/html")

    async def image(request: web.Request) -> web.Response:
        return web.Response(body=b"\x89PNG\r\n", content_type="image/png")

    async def missing(request: web.Request) -> web.Response:
        return web.Response(status=404, text="nope", content_type="text/html")

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound(request.query["to"])

    async def hops(request: web.Request) -> web.Response:
        left = int(request.match_info["n"])
        if left == 0:
            return await page(request)
        raise web.HTTPFound(f"/hops/{left - 1}")

    app = web.Application(middlewares=[web.middleware(record)])
    app.router.add_get("/page", page)
    app.router.add_get("/latin1", latin1)
    app.router.add_get("/sized/{n}", sized)
    app.router.add_get("/endless", endless)
    app.router.add_get("/slow", slow)
    app.router.add_get("/image", image)
    app.router.add_get("/missing", missing)
    app.router.add_get("/redirect", redirect)
    app.router.add_get("/hops/{n}", hops)
    return app


class PageServer:
    def __init__(self, server: TestServer, seen: list[str]) -> None:
        self.server = server
        self.seen = seen
        self.port = server.port

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


@asynccontextmanager
async def page_server() -> AsyncIterator[PageServer]:
    seen: list[str] = []
    server = TestServer(_app(seen), host="127.0.0.1")
    await server.start_server()
    try:
        yield PageServer(server, seen)
    finally:
        await server.close()
