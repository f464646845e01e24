"""The aiohttp transport's GET (health and metrics pages) against a real local server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from openscope.backends.openai_upstream import transport as transport_module
from openscope.backends.openai_upstream.transport import AiohttpTransport, TransportError


@pytest.fixture
async def site() -> AsyncIterator[str]:
    async def metrics(request: web.Request) -> web.Response:
        assert request.headers["Authorization"] == "Bearer k"
        return web.Response(text="llamacpp:requests_processing 1\n")

    async def off(request: web.Request) -> web.Response:
        return web.json_response({"error": {"code": 501}}, status=501)

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/off", off)
    runner = web.AppRunner(app)
    await runner.setup()
    server = web.TCPSite(runner, "127.0.0.1", 0)
    await server.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_a_page_and_its_status(site: str) -> None:
    http = AiohttpTransport()
    try:
        auth = {"Authorization": "Bearer k"}
        assert await http.get(f"{site}/metrics", auth) == (200, b"llamacpp:requests_processing 1\n")
        status, _ = await http.get(f"{site}/off", {})
        assert status == 501
    finally:
        await http.close()


async def test_an_unreachable_or_oversized_page_is_a_transport_error(
    site: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    http = AiohttpTransport()
    try:
        with pytest.raises(TransportError):
            await http.get("http://127.0.0.1:9/metrics", {})  # the discard port: refused
        monkeypatch.setattr(transport_module, "MAX_PAGE", 8)
        with pytest.raises(TransportError, match="over 8 bytes"):
            await http.get(f"{site}/metrics", {"Authorization": "Bearer k"})
    finally:
        await http.close()
