"""What the fetcher refuses before any connection: schemes, refused address ranges (literal,
resolved, behind a redirect), and the loopback test server unless it is allow-listed."""

from __future__ import annotations

import re

import pytest

from openscope.tools.fetch import Fetcher, FetchPolicy, FetchRefused, networks
from tests.tools.fetch.fakes import PageServer, StaticResolver


def fetcher(allow: tuple[str, ...] = (), resolver: StaticResolver | None = None) -> Fetcher:
    return Fetcher(FetchPolicy(allow=networks(*allow)), resolver or StaticResolver({}))


@pytest.mark.parametrize(
    ("host", "label"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "cloud metadata"),
        ("169.254.10.1", "link-local"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("[::1]", "loopback"),
        ("[::]", "unspecified"),
        ("[fc00::1]", "unique local"),
        ("[fe80::1]", "link-local"),
        ("[ff02::1]", "multicast"),
        ("[::ffff:127.0.0.1]", "loopback"),
        ("[::ffff:169.254.169.254]", "cloud metadata"),
        ("[::ffff:10.0.0.1]", "private"),
    ],
)
async def test_a_literal_address_in_a_refused_range_is_refused(host: str, label: str) -> None:
    resolver = StaticResolver({})
    with pytest.raises(FetchRefused) as refused:
        await fetcher(resolver=resolver).fetch(f"http://{host}/latest/meta-data/")
    assert label in refused.value.reason
    assert resolver.asked == []  # a literal is judged as it is


async def test_a_host_resolving_to_a_private_address_is_refused() -> None:
    resolver = StaticResolver({"intranet.example": ["10.1.2.3"]})
    with pytest.raises(FetchRefused) as refused:
        await fetcher(resolver=resolver).fetch("https://intranet.example/admin")
    assert refused.value.reason == (
        "intranet.example resolves to a private address, which is not allowed"
    )
    assert "10.1.2.3" not in refused.value.reason  # the internal network is not mapped
    assert resolver.asked == ["intranet.example"]


async def test_every_resolved_address_is_checked_not_only_the_first() -> None:
    resolver = StaticResolver({"mixed.example": ["93.184.216.34", "::1"]})
    with pytest.raises(FetchRefused) as refused:
        await fetcher(resolver=resolver).fetch("http://mixed.example/")
    assert "resolves to a loopback address" in refused.value.reason


async def test_a_host_resolving_to_the_metadata_address_is_refused() -> None:
    resolver = StaticResolver({"metadata.google.internal": ["169.254.169.254"]})
    with pytest.raises(FetchRefused, match="cloud metadata"):
        await fetcher(resolver=resolver).fetch("http://metadata.google.internal/")


@pytest.mark.parametrize("host", ["127.1", "2130706433", "0177.0.0.1"])
async def test_a_non_canonical_numeric_host_is_refused(host: str) -> None:
    resolver = StaticResolver({})
    with pytest.raises(FetchRefused, match="not a canonical IP address"):
        await fetcher(resolver=resolver).fetch(f"http://{host}/")
    assert resolver.asked == []


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("file:///etc/passwd", "scheme 'file'"),
        ("ftp://example.com/pub/", "scheme 'ftp'"),
        ("gopher://127.0.0.1:70/_GET", "scheme 'gopher'"),
        ("javascript:alert(1)", "scheme 'javascript'"),
        ("//example.com/page", "a URL without a scheme"),
    ],
)
async def test_a_scheme_other_than_http_and_https_is_refused(url: str, shown: str) -> None:
    with pytest.raises(FetchRefused) as refused:
        await fetcher().fetch(url)
    assert refused.value.reason == f"{shown} is not allowed (only http and https)"


async def test_the_loopback_test_server_is_refused_unless_allow_listed(
    server: PageServer,
) -> None:
    with pytest.raises(FetchRefused, match=re.escape("127.0.0.1 is not allowed: loopback address")):
        await fetcher().fetch(server.url("/page"))
    assert server.seen == []  # refused before connecting

    page = await fetcher(allow=("127.0.0.1",)).fetch(server.url("/page"))
    assert page.status == 200
    assert b"Hello, world." in page.body
    assert server.seen == ["/page"]

    page = await fetcher(allow=("127.0.0.0/8",)).fetch(server.url("/page"))
    assert page.status == 200


async def test_an_allow_list_entry_does_not_open_other_ranges(server: PageServer) -> None:
    with pytest.raises(FetchRefused, match="loopback"):
        await fetcher(allow=("10.0.0.0/8", "::1")).fetch(server.url("/page"))
    assert server.seen == []


async def test_a_redirect_to_a_refused_address_is_refused(server: PageServer) -> None:
    to = "http://10.0.0.1/secret"
    with pytest.raises(FetchRefused, match=re.escape("10.0.0.1 is not allowed: private address")):
        await fetcher(allow=("127.0.0.1",)).fetch(server.url(f"/redirect?to={to}"))
    assert server.seen == [f"/redirect?to={to}"]


async def test_a_redirect_to_a_name_resolving_to_metadata_is_refused(server: PageServer) -> None:
    resolver = StaticResolver({"sneaky.example": ["169.254.169.254"]})
    with pytest.raises(FetchRefused, match=re.escape("sneaky.example resolves to a link-local")):
        await fetcher(allow=("127.0.0.1",), resolver=resolver).fetch(
            server.url("/redirect?to=http://sneaky.example/latest/meta-data/")
        )
    assert resolver.asked == ["sneaky.example"]


async def test_a_redirect_to_another_scheme_is_refused(server: PageServer) -> None:
    with pytest.raises(FetchRefused, match="scheme 'file' is not allowed"):
        await fetcher(allow=("127.0.0.1",)).fetch(server.url("/redirect?to=file:///etc/passwd"))


async def test_the_connection_goes_to_the_checked_address_not_a_second_answer(
    server: PageServer,
) -> None:
    # The first answer is allow-listed, any later one would be private: a fetcher that
    # resolved again to connect (a DNS rebinding window) would be refused or fail.
    resolver = StaticResolver({"app.test": ["127.0.0.1"]}, then={"app.test": ["10.0.0.1"]})
    page = await fetcher(allow=("127.0.0.1",), resolver=resolver).fetch(
        server.url("/page", host="app.test")
    )
    assert b"Hello, world." in page.body
    assert resolver.asked == ["app.test"]  # one resolution; "app.test" is not in real DNS
