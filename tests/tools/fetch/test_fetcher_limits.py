"""The fetcher's limits against a test server on 127.0.0.1 (allow-listed): redirects, body
size, time, content types, HTTP errors; and that only FetchRefused / FetchFailed escape."""

from __future__ import annotations

import re
import socket
import time

import pytest

from openscope.tools.fetch import Fetcher, FetchFailed, FetchPolicy, FetchRefused, networks
from tests.tools.fetch.fakes import PageServer


def fetcher(**limits: object) -> Fetcher:
    return Fetcher(FetchPolicy(allow=networks("127.0.0.1"), **limits))  # type: ignore[arg-type]


async def test_redirects_are_followed_up_to_the_limit(server: PageServer) -> None:
    page = await fetcher(max_redirects=3).fetch(server.url("/hops/3"))
    assert page.status == 200
    assert page.redirects == tuple(server.url(f"/hops/{n}") for n in (2, 1, 0))
    assert page.final_url == server.url("/hops/0")
    assert page.url == server.url("/hops/3")


async def test_too_many_redirects_fail(server: PageServer) -> None:
    with pytest.raises(FetchFailed) as failed:
        await fetcher(max_redirects=3).fetch(server.url("/hops/4"))
    assert failed.value.reason == "more than 3 redirects"
    # The first request and three redirects were followed; the fourth never was.
    assert server.seen == ["/hops/4", "/hops/3", "/hops/2", "/hops/1"]


async def test_no_redirect_is_followed_when_the_limit_is_zero(server: PageServer) -> None:
    with pytest.raises(FetchFailed, match="more than 0 redirects"):
        await fetcher(max_redirects=0).fetch(server.url("/hops/1"))
    assert server.seen == ["/hops/1"]


async def test_an_oversize_body_is_cut_at_the_cap(server: PageServer) -> None:
    page = await fetcher(max_bytes=10_000).fetch(server.url("/sized/300000"))
    assert page.truncated is True
    assert page.body == b"a" * 10_000


async def test_a_body_of_exactly_the_cap_is_not_truncated(server: PageServer) -> None:
    page = await fetcher(max_bytes=10_000).fetch(server.url("/sized/10000"))
    assert page.truncated is False
    assert len(page.body) == 10_000


async def test_an_endless_body_is_read_only_up_to_the_cap(server: PageServer) -> None:
    # The server writes until the client hangs up: only a streamed read that stops at the
    # cap can return at all.
    page = await fetcher(max_bytes=100_000, total_timeout=5.0).fetch(server.url("/endless"))
    assert page.truncated is True
    assert len(page.body) == 100_000
    assert page.body.startswith(b"<p>xxx")


async def test_a_slow_server_hits_the_total_timeout(server: PageServer) -> None:
    started = time.monotonic()
    with pytest.raises(FetchFailed) as failed:
        await fetcher(total_timeout=0.3).fetch(server.url("/slow"))
    assert failed.value.reason == "the fetch took longer than 0.3 s"
    assert time.monotonic() - started < 2.0  # the server would answer after 10 s


async def test_a_content_type_not_accepted_is_refused(server: PageServer) -> None:
    with pytest.raises(FetchRefused) as refused:
        await fetcher().fetch(server.url("/image"))
    assert refused.value.reason.startswith("content type image/png is not accepted (")


async def test_the_accepted_content_types_are_the_policys(server: PageServer) -> None:
    with pytest.raises(FetchRefused, match="content type text/html is not accepted"):
        await fetcher(content_types=frozenset({"text/plain"})).fetch(server.url("/page"))
    page = await fetcher(content_types=frozenset({"text/plain"})).fetch(server.url("/sized/5"))
    assert page.content_type == "text/plain"


async def test_an_http_error_status_fails(server: PageServer) -> None:
    with pytest.raises(FetchFailed) as failed:
        await fetcher().fetch(server.url("/missing"))
    assert failed.value.reason == "HTTP 404 Not Found"


async def test_the_declared_charset_decodes_the_text(server: PageServer) -> None:
    page = await fetcher().fetch(server.url("/latin1"))
    assert page.charset == "iso-8859-1"
    assert "Café" in page.text()


async def test_a_closed_port_fails_with_fetch_failed() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago and is closed now
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(FetchFailed) as failed:
        await fetcher().fetch(f"http://127.0.0.1:{port}/")
    assert "127.0.0.1" in failed.value.reason


async def test_an_unresolvable_host_fails_with_fetch_failed() -> None:
    from tests.tools.fetch.fakes import StaticResolver

    with pytest.raises(
        FetchFailed, match=re.escape("could not resolve nowhere.example: no such host")
    ):
        await Fetcher(resolver=StaticResolver({})).fetch("http://nowhere.example/")


def test_the_policy_rejects_nonsense_limits() -> None:
    with pytest.raises(ValueError, match="max_bytes"):
        FetchPolicy(max_bytes=0)
    with pytest.raises(ValueError, match="timeouts"):
        FetchPolicy(total_timeout=0)
    with pytest.raises(ValueError, match="'localhost' is not an address or network"):
        networks("localhost")
    with pytest.raises(ValueError, match=re.escape("10.0.0.1/8")):
        networks("10.0.0.1/8")  # host bits set: almost certainly a typo
