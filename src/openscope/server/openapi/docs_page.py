"""`/docs`: a page that renders `/openapi.json` in the browser, with plain JavaScript and
CSS that ship inside the package (static/), served by openscope: no CDN, no build step.
Its Content-Security-Policy lets it load nothing from any other host."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from importlib import resources
from typing import Any

from fastapi import APIRouter, Response

DOCS_PATH = "/docs"
# name -> media type of the page's assets, served at /docs/<name>
ASSETS = {"docs.js": "text/javascript; charset=utf-8", "docs.css": "text/css; charset=utf-8"}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff"}


def static_file(name: str) -> bytes:
    return (resources.files(__package__ or __name__) / "static" / name).read_bytes()


def docs_router() -> APIRouter:
    """The page and its assets, read once here; none of them is in the document."""
    router = APIRouter(include_in_schema=False)
    page = static_file("docs.html")

    async def docs() -> Response:
        return Response(page, media_type="text/html; charset=utf-8", headers=HEADERS)

    router.add_api_route(DOCS_PATH, docs, methods=["GET"])
    for name, media_type in ASSETS.items():
        router.add_api_route(
            f"{DOCS_PATH}/{name}", asset(static_file(name), media_type), methods=["GET"]
        )
    return router


def asset(content: bytes, media_type: str) -> Callable[[], Coroutine[Any, Any, Response]]:
    async def serve() -> Response:
        return Response(content, media_type=media_type, headers=HEADERS)

    return serve
