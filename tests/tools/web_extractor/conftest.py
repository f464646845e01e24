from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

FIXTURES = Path(__file__).parent / "fixtures"


def fixture_html(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.fixture
async def fixture_server() -> AsyncIterator[str]:
    """Serves tests/tools/web_extractor/fixtures/* as text/html on 127.0.0.1; yields the base
    URL."""

    async def serve(request: web.Request) -> web.Response:
        path = FIXTURES / request.match_info["name"]
        if not path.is_file():
            raise web.HTTPNotFound()
        return web.Response(body=path.read_bytes(), content_type="text/html", charset="utf-8")

    app = web.Application()
    app.router.add_get("/{name}", serve)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        await server.close()
