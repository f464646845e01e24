"""SearxngProvider against the in-tree fake SearXNG: the exact requests it sends, how answers
map to results, and every failure as SearchFailed."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime

import aiohttp
import orjson
import pytest
from aiohttp import web

from openscope.tools.web_search import SearchFailed, SearchQuery, SearxngProvider
from openscope.tools.web_search.searxng import MAX_SNIPPET_CHARS, time_range_for
from tests.tools.web_search.fake_searxng import FakeSearxng, searxng_page, searxng_result

NOW = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)


def provider(fake: FakeSearxng, **options: object) -> SearxngProvider:
    return SearxngProvider(fake.base_url, clock=lambda: NOW, **options)  # type: ignore[arg-type]


async def search(fake: FakeSearxng, query: SearchQuery, **options: object) -> list:  # type: ignore[type-arg]
    async with provider(fake, **options) as searx:
        return await searx.search(query)


async def test_sends_the_query_as_searxng_json_api_parameters(searxng: FakeSearxng) -> None:
    searxng.pages = [searxng_page([searxng_result("https://a.example/1")])]
    await search(searxng, SearchQuery("rust  async runtime"))
    assert searxng.requests == [{"q": "rust async runtime", "format": "json", "pageno": "1"}]


async def test_maps_results_in_order_numbered_from_one(searxng: FakeSearxng) -> None:
    searxng.pages = [
        searxng_page(
            [
                searxng_result(
                    "https://www.python.org/about/",
                    title="  About   Python ",
                    content="Python is a\n programming language.",
                    publishedDate="2025-12-01T08:30:00",
                ),
                searxng_result("https://docs.rs/tokio", title="", publishedDate=None),
            ]
        )
    ]
    results = await search(searxng, SearchQuery("python"))
    first, second = results
    assert (first.index, first.title, first.url) == (
        1,
        "About Python",
        "https://www.python.org/about/",
    )
    assert first.site_name == "python.org"
    assert first.snippet == "Python is a programming language."
    assert first.icon == ""
    assert first.published == datetime(2025, 12, 1, 8, 30, tzinfo=UTC)
    assert (second.index, second.site_name, second.published) == (2, "docs.rs", None)
    assert second.title == "Title of https://docs.rs/tokio"


async def test_skips_results_without_an_http_url_and_repeated_urls(searxng: FakeSearxng) -> None:
    searxng.pages = [
        searxng_page(
            [
                searxng_result("https://a.example/x"),
                {"title": "no url"},
                searxng_result("javascript:alert(1)"),
                searxng_result("https://a.example/x"),
                "not an object",  # type: ignore[list-item]
                searxng_result("http://b.example/y"),
            ]
        )
    ]
    results = await search(searxng, SearchQuery("q"))
    assert [(r.index, r.url) for r in results] == [
        (1, "https://a.example/x"),
        (2, "http://b.example/y"),
    ]


@pytest.mark.parametrize(
    ("days", "time_range"),
    [
        (None, None),
        (1, "day"),
        (7, "week"),
        (30, "month"),
        (180, "year"),
        (365, "year"),
        (400, None),
    ],
)
def test_freshness_maps_to_the_smallest_covering_time_range(
    days: int | None, time_range: str | None
) -> None:
    assert time_range_for(days) == time_range


async def test_freshness_sends_time_range_and_drops_older_dated_results(
    searxng: FakeSearxng,
) -> None:
    searxng.pages = [
        searxng_page(
            [
                searxng_result("https://a.example/new", publishedDate="2026-01-28T00:00:00Z"),
                searxng_result("https://a.example/old", publishedDate="2025-11-02T00:00:00"),
                searxng_result("https://a.example/undated"),
            ]
        )
    ]
    results = await search(searxng, SearchQuery("news", freshness_days=7))
    assert searxng.requests == [
        {"q": "news", "format": "json", "pageno": "1", "time_range": "week"}
    ]
    assert [r.url for r in results] == ["https://a.example/new", "https://a.example/undated"]


async def test_one_site_adds_a_site_operator_and_filters_by_host(searxng: FakeSearxng) -> None:
    searxng.pages = [
        searxng_page(
            [
                searxng_result("https://docs.python.org/3/"),
                searxng_result("https://evil.example/python.org"),
                searxng_result("https://notpython.org/"),
                searxng_result("https://python.org/"),
            ]
        )
    ]
    results = await search(searxng, SearchQuery("asyncio", sites=("https://www.Python.org/",)))
    assert searxng.requests[0]["q"] == "asyncio site:www.python.org"
    assert [r.url for r in results] == ["https://docs.python.org/3/", "https://python.org/"]


async def test_several_sites_are_or_ed(searxng: FakeSearxng) -> None:
    searxng.pages = [searxng_page([searxng_result("https://b.example/")])]
    results = await search(searxng, SearchQuery("x", sites=("a.example", "b.example")))
    assert searxng.requests[0]["q"] == "x (site:a.example OR site:b.example)"
    assert [r.url for r in results] == ["https://b.example/"]


async def test_searxng_directives_are_taken_off_the_query(searxng: FakeSearxng) -> None:
    await search(searxng, SearchQuery("!!g :en <3 python"))
    assert searxng.requests[0]["q"] == "g :en <3 python"
    with pytest.raises(SearchFailed, match="no words to search for"):
        await search(searxng, SearchQuery("!! ?"))


async def test_a_long_content_is_cut_to_a_snippet(searxng: FakeSearxng) -> None:
    searxng.pages = [searxng_page([searxng_result("https://a.example/", content="word " * 1000)])]
    (result,) = await search(searxng, SearchQuery("q"))
    assert len(result.snippet) == MAX_SNIPPET_CHARS
    assert result.snippet.startswith("word word") and result.snippet.endswith("…")


async def test_fetches_further_pages_until_enough_results(searxng: FakeSearxng) -> None:
    searxng.pages = [
        searxng_page([searxng_result(f"https://p{page}.example/{i}") for i in range(10)])
        for page in range(1, 4)
    ]
    results = await search(searxng, SearchQuery("many", max_results=25))
    assert [r["pageno"] for r in searxng.requests] == ["1", "2", "3"]
    assert len(results) == 25
    assert [r.index for r in results] == list(range(1, 26))
    assert results[24].url == "https://p3.example/4"


async def test_stops_at_the_first_empty_page(searxng: FakeSearxng) -> None:
    searxng.pages = [searxng_page([searxng_result(f"https://a.example/{i}") for i in range(10)])]
    results = await search(searxng, SearchQuery("few", max_results=20))
    assert [r["pageno"] for r in searxng.requests] == ["1", "2"]
    assert len(results) == 10


async def test_no_results_is_an_empty_list(searxng: FakeSearxng) -> None:
    searxng.pages = [searxng_page([])]
    assert await search(searxng, SearchQuery("nothing")) == []


async def test_every_engine_failing_is_a_failure_not_an_empty_search(
    searxng: FakeSearxng,
) -> None:
    searxng.pages = [
        searxng_page([], unresponsive_engines=[["google", "timeout"], ["bing", "CAPTCHA"]])
    ]
    with pytest.raises(SearchFailed, match=r"google \(timeout\), bing \(CAPTCHA\)"):
        await search(searxng, SearchQuery("q"))


@pytest.mark.parametrize(
    ("status", "hint", "rate_limited"),
    [(500, "", False), (403, "search.formats", False), (429, "", True)],
)
async def test_a_bad_status_fails(
    searxng: FakeSearxng, status: int, hint: str, rate_limited: bool
) -> None:
    async def answer(request: web.Request) -> web.Response:
        return web.Response(status=status, text="error page")

    searxng.handler = answer
    with pytest.raises(SearchFailed, match=f"HTTP {status}") as failed:
        await search(searxng, SearchQuery("q"))
    assert hint in failed.value.message
    # only "too many requests" says the client may wait and try again
    assert failed.value.rate_limited is rate_limited


async def test_a_slow_server_times_out(searxng: FakeSearxng) -> None:
    async def hang(request: web.Request) -> web.Response:
        await searxng.release.wait()
        return web.Response(text="{}")

    searxng.handler = hang
    started = time.monotonic()
    with pytest.raises(SearchFailed, match=r"did not answer within 0\.2s"):
        await search(searxng, SearchQuery("q"), timeout=0.2)
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"<html>Too many requests</html>", "not JSON"),
        (b'{"results": ', "not JSON"),
        (b'{"error": "no results"}', "no `results` list"),
        (b"[1, 2]", "no `results` list"),
    ],
)
async def test_garbage_json_fails(searxng: FakeSearxng, body: bytes, error: str) -> None:
    async def answer(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    searxng.handler = answer
    with pytest.raises(SearchFailed, match=error):
        await search(searxng, SearchQuery("q"))


@pytest.mark.parametrize("declares_length", [True, False])
async def test_an_oversize_body_fails(searxng: FakeSearxng, declares_length: bool) -> None:
    body = orjson.dumps(searxng_page([searxng_result("https://a.example/", content="x" * 5000)]))

    async def answer(request: web.Request) -> web.StreamResponse:
        if declares_length:
            return web.Response(body=body, content_type="application/json")
        response = web.StreamResponse()  # chunked: no Content-Length to check up front
        response.content_type = "application/json"
        await response.prepare(request)
        for start in range(0, len(body), 500):
            await response.write(body[start : start + 500])
        await response.write_eof()
        return response

    searxng.handler = answer
    with pytest.raises(SearchFailed, match="larger than 1000 bytes"):
        await search(searxng, SearchQuery("q"), max_response_bytes=1000)
    # The same answer within the bound is a result.
    assert len(await search(searxng, SearchQuery("q"), max_response_bytes=len(body))) == 1


async def test_an_unreachable_server_fails() -> None:
    with socket.socket() as sock:  # a port nothing listens on once closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with SearxngProvider(f"http://127.0.0.1:{port}") as searx:
        with pytest.raises(SearchFailed, match="unreachable"):
            await searx.search(SearchQuery("q"))


async def test_a_given_session_is_used_and_left_open(searxng: FakeSearxng) -> None:
    searxng.pages = [searxng_page([searxng_result("https://a.example/")])]
    async with aiohttp.ClientSession() as session:
        searx = SearxngProvider(searxng.base_url + "/", session=session)
        assert len(await searx.search(SearchQuery("q"))) == 1
        await searx.aclose()
        assert not session.closed
    assert searxng.requests == [{"q": "q", "format": "json", "pageno": "1"}]
