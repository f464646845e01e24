from __future__ import annotations

import pytest

from openscope.tools.web_search import (
    MAX_ASSIGNED_SITES,
    LocalIndexProvider,
    SearchProvider,
    SearchQuery,
    SearchResult,
    SearxngProvider,
    merge_rounds,
)
from openscope.tools.web_search.sites import host_allowed, normalise_site, site_name_of


def result(url: str, index: int = 0) -> SearchResult:
    return SearchResult(index=index, title=url, url=url, site_name="", snippet="")


def test_a_query_takes_25_sites_and_refuses_26() -> None:
    sites = tuple(f"s{i}.example" for i in range(MAX_ASSIGNED_SITES))
    assert SearchQuery("q", sites=sites).sites == sites
    with pytest.raises(ValueError, match="at most 25 sites"):
        SearchQuery("q", sites=(*sites, "one-more.example"))


def test_sites_are_normalised_to_hosts_once() -> None:
    query = SearchQuery("q", sites=("HTTPS://News.Example.com/path?x=1", "*.b.org", "b.org."))
    assert query.sites == ("news.example.com", "b.org")


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"text": "  "}, "needs some text"),
        ({"max_results": 0}, "max_results"),
        ({"max_results": 51}, "max_results"),
        ({"freshness_days": 0}, "freshness_days"),
        ({"sites": ("https://",)}, "must name a host"),
    ],
)
def test_invalid_queries_are_refused(fields: dict[str, object], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        SearchQuery(**{"text": "q", **fields})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("site", "host"),
    [("example.com", "example.com"), ("https://WWW.x.org:8443/a", "www.x.org"), ("", "")],
)
def test_normalise_site(site: str, host: str) -> None:
    assert normalise_site(site) == host


@pytest.mark.parametrize(
    ("host", "sites", "allowed"),
    [
        ("anything.net", (), True),
        ("example.com", ("example.com",), True),
        ("docs.example.com", ("example.com",), True),
        ("www.example.com", ("example.com",), True),
        ("example.com", ("www.example.com",), True),
        ("badexample.com", ("example.com",), False),
        ("example.com.evil.net", ("example.com",), False),
        ("example.org", ("example.com", "example.org"), True),
    ],
)
def test_host_allowed(host: str, sites: tuple[str, ...], allowed: bool) -> None:
    assert host_allowed(host, sites) is allowed


def test_site_name_is_the_host_without_www() -> None:
    assert site_name_of("https://www.python.org/x") == "python.org"
    assert site_name_of("file:///tmp/a.md") == ""
    assert site_name_of("http://[::1") == ""


def test_merge_rounds_keeps_first_occurrences_and_renumbers() -> None:
    first = [result("https://a/", 1), result("https://b/", 2)]
    second = [result("https://b/", 1), result("https://c/", 2)]
    merged = merge_rounds([first, second])
    assert [(r.index, r.url) for r in merged] == [
        (1, "https://a/"),
        (2, "https://b/"),
        (3, "https://c/"),
    ]
    assert merge_rounds([]) == []


def test_both_providers_are_search_providers() -> None:
    # A static check as much as a runtime one: mypy verifies the assignments.
    providers: list[SearchProvider] = [
        SearxngProvider("http://127.0.0.1:1"),
        LocalIndexProvider("index.db"),
    ]
    assert all(callable(provider.search) for provider in providers)
