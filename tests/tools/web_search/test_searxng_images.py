"""SearxngProvider.search_images against the in-tree fake SearXNG: the `images` category is
asked for, image results become `ImageResult`s (image URL, title, page, thumbnail) numbered
from 1, what is no image is dropped, and every failure is a `SearchFailed`."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from openscope.tools.web_search import ImageResult, SearchFailed, SearchQuery, SearxngProvider
from tests.tools.web_search.fake_searxng import (
    FakeSearxng,
    searxng_image_result,
    searxng_page,
    searxng_result,
)

CAT = "https://img.example.com/cat.jpg"
KITTEN = "https://cdn.example.org/kitten.png"


async def images(fake: FakeSearxng, query: SearchQuery, **options: float) -> list[ImageResult]:
    async with SearxngProvider(fake.base_url, **options) as provider:  # type: ignore[arg-type]
        return await provider.search_images(query)


async def test_asks_for_the_images_category_and_maps_image_results(searxng: FakeSearxng) -> None:
    searxng.pages = [
        searxng_page(
            [
                searxng_image_result(CAT, "A  cat\nasleep", "https://pets.example.com/cats"),
                searxng_image_result(KITTEN, ""),
            ]
        )
    ]
    found = await images(searxng, SearchQuery("!images cute cat"))
    # the `!` of a bang is taken off: the words stay words
    assert searxng.requests == [{"q": "images cute cat", "format": "json", "categories": "images"}]
    assert found == [
        ImageResult(1, "A cat asleep", CAT, "https://pets.example.com/cats", CAT + "?thumb=1"),
        # no title: the image's URL is what it is shown as
        ImageResult(2, KITTEN, KITTEN, "https://pages.example.com/kitten.png", KITTEN + "?thumb=1"),
    ]


async def test_drops_what_is_no_http_image_and_repeats(searxng: FakeSearxng) -> None:
    searxng.pages = [
        searxng_page(
            [
                searxng_result("https://pages.example.com/general"),  # no img_src
                searxng_image_result("data:image/png;base64,AAAA", "inline"),
                searxng_image_result("ftp://files.example.com/x.jpg", "ftp"),
                searxng_image_result("//proto.example.com/rel.jpg", "relative"),
                searxng_image_result(CAT, "first"),
                searxng_image_result(CAT, "again"),
                "not an object",
            ]
        )
    ]
    found = await images(searxng, SearchQuery("cats"))
    assert [(image.index, image.url, image.title) for image in found] == [
        (1, "https://proto.example.com/rel.jpg", "relative"),
        (2, CAT, "first"),
    ]


async def test_keeps_at_most_max_results(searxng: FakeSearxng) -> None:
    searxng.pages = [
        searxng_page([searxng_image_result(f"https://i.example.com/{n}.jpg") for n in range(30)])
    ]
    found = await images(searxng, SearchQuery("cats", max_results=3))
    assert [image.url for image in found] == [f"https://i.example.com/{n}.jpg" for n in range(3)]


async def test_every_engine_failing_is_a_failure(searxng: FakeSearxng) -> None:
    searxng.pages = [searxng_page([], unresponsive_engines=[["bing images", "timeout"]])]
    with pytest.raises(SearchFailed, match=r"no SearXNG engine answered: bing images \(timeout\)"):
        await images(searxng, SearchQuery("cats"))


async def test_a_403_says_json_must_be_enabled(searxng: FakeSearxng) -> None:
    async def forbidden(request: web.Request) -> web.StreamResponse:
        return web.Response(status=403)

    searxng.handler = forbidden
    with pytest.raises(SearchFailed, match=r"HTTP 403 \(is `json` in its search.formats\?\)"):
        await images(searxng, SearchQuery("cats"))


async def test_a_slow_instance_times_out(searxng: FakeSearxng) -> None:
    async def stalls(request: web.Request) -> web.StreamResponse:
        await searxng.release.wait()
        return web.Response(status=500)

    searxng.handler = stalls
    with pytest.raises(SearchFailed, match=r"did not answer within 0.2s"):
        await images(searxng, SearchQuery("cats"), timeout=0.2)


async def test_an_unreachable_instance_fails() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    async with SearxngProvider(f"http://127.0.0.1:{port}") as provider:
        with pytest.raises(SearchFailed, match="SearXNG is unreachable"):
            await provider.search_images(SearchQuery("cats"))
