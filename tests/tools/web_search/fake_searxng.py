"""An in-tree fake SearXNG: an aiohttp server on 127.0.0.1 that records each request's query
parameters and answers what the test told it to."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import orjson
from aiohttp import web
from aiohttp.test_utils import TestServer

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def searxng_result(url: str, title: str = "", content: str = "", **extra: Any) -> dict[str, Any]:
    """One result as SearXNG's JSON API writes it."""
    return {
        "url": url,
        "title": title or f"Title of {url}",
        "content": content,
        "engine": "duckduckgo",
        "engines": ["duckduckgo", "brave"],
        "parsed_url": [*urlsplit(url), ""],
        "score": 1.0,
        "category": "general",
        **extra,
    }


def searxng_image_result(
    img_src: str, title: str = "", url: str = "", **extra: Any
) -> dict[str, Any]:
    """One image result as SearXNG's JSON API writes it (`categories=images`)."""
    page = url or "https://pages.example.com/" + img_src.rsplit("/", 1)[-1]
    return {
        "url": page,
        "title": title,
        "content": "",
        "img_src": img_src,
        "thumbnail_src": img_src + "?thumb=1",
        "img_format": "jpeg 800 x 600",
        "resolution": "800 x 600",
        "template": "images.html",
        "engine": "bing images",
        "engines": ["bing images"],
        "parsed_url": [*urlsplit(page), ""],
        "score": 1.0,
        "category": "images",
        **extra,
    }


def searxng_page(results: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "query": "q",
        "number_of_results": 0,
        "results": results,
        "answers": [],
        "corrections": [],
        "infoboxes": [],
        "suggestions": [],
        "unresponsive_engines": [],
        **extra,
    }


@dataclass
class FakeSearxng:
    """`pages[n]` is the JSON body of page n+1 (an empty page past the end); `handler`, when
    set, answers instead."""

    pages: list[dict[str, Any]] = field(default_factory=list)
    handler: Handler | None = None
    requests: list[dict[str, str]] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    server: TestServer | None = None

    @property
    def base_url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url(""))

    async def _search(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(dict(request.query))
        if self.handler is not None:
            return await self.handler(request)
        page = int(request.query.get("pageno", "1"))
        body = self.pages[page - 1] if page <= len(self.pages) else searxng_page([])
        return web.Response(body=orjson.dumps(body), content_type="application/json")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/search", self._search)
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()

    async def close(self) -> None:
        self.release.set()  # lets a handler that waits forever finish
        if self.server is not None:
            await self.server.close()
