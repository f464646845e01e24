"""WebSearchRunner against a fake provider: the query it sends under each strategy, the
Responses fields it writes, and every way a call fails (as a failed outcome, never raised)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from openscope.core.builtin_tools import (
    BuiltinToolKind,
    CodeInterpreter,
    UserLocation,
    WebSearch,
)
from openscope.core.tool_runner import ToolContext
from openscope.tools.web_search import (
    SearchFailed,
    SearchQuery,
    SearchResult,
    WebSearchRunner,
    format_for_model,
)
from openscope.tools.web_search.render import result_text

CONTEXT = ToolContext(request_id="req_1", workspace="default")
RESULTS = [
    SearchResult(1, "Hangzhou weather", "https://weather.example.com/hz", "Weather", "Sunny."),
    SearchResult(
        2, "West Lake", "https://lake.example.org/", "Lake", "Boats.", icon="https://i/x.ico"
    ),
]


class FakeProvider:
    def __init__(
        self,
        results: list[SearchResult] | None = None,
        fail: str | None = None,
        rate_limited: bool = False,
    ):
        self.results = RESULTS if results is None else results
        self.fail = fail
        self.rate_limited = rate_limited
        self.queries: list[SearchQuery] = []
        self.closed = False

    async def search(self, query: SearchQuery) -> list[SearchResult]:
        self.queries.append(query)
        if self.fail is not None:
            raise SearchFailed(self.fail, rate_limited=self.rate_limited)
        return self.results

    async def aclose(self) -> None:
        self.closed = True


async def run(provider: FakeProvider, arguments: dict[str, Any], **options: Any) -> tuple[Any, Any]:
    outcome = await WebSearchRunner(provider).run(WebSearch(options), arguments, CONTEXT)
    return outcome, json.loads(outcome.output)


def test_offers_a_web_search_function_with_a_query() -> None:
    runner = WebSearchRunner(FakeProvider())
    assert runner.kind is BuiltinToolKind.WEB_SEARCH
    spec = runner.function(WebSearch())
    assert spec.name == "web_search"
    assert spec.description
    assert spec.parameters["required"] == ["query"]
    assert spec.parameters["properties"]["query"]["type"] == "string"


async def test_a_search_gives_the_results_and_the_items_action() -> None:
    provider = FakeProvider()
    outcome, output = await run(provider, {"query": "  hangzhou weather "})
    assert outcome.status == "completed"
    assert provider.queries == [SearchQuery("hangzhou weather", max_results=10)]
    assert outcome.for_model == format_for_model(RESULTS, cite=False, citation_format="[<number>]")
    # §3.2: sources are {type, url}, no titles
    assert output["action"] == {
        "type": "search",
        "query": "hangzhou weather",
        "sources": [
            {"type": "url", "url": "https://weather.example.com/hz"},
            {"type": "url", "url": "https://lake.example.org/"},
        ],
    }
    # what Chat's search_info.search_results[] needs, kept beside the item's fields
    assert output["search_results"][1] == {
        "index": 2,
        "title": "West Lake",
        "url": "https://lake.example.org/",
        "site_name": "Lake",
        "icon": "https://i/x.ico",
    }


async def test_no_results_is_a_completed_search_the_model_is_told_of() -> None:
    outcome, output = await run(FakeProvider(results=[]), {"query": "nothing"})
    assert outcome.status == "completed"
    assert outcome.for_model == "The web search returned no results."
    assert output["action"]["sources"] == []


async def test_turbo_honours_freshness_and_sites() -> None:
    provider = FakeProvider()
    sites = ["news.example.com", "https://www.example.org/path"]
    outcome, _ = await run(
        provider, {"query": "q"}, search_strategy="turbo", freshness=7, assigned_site_list=sites
    )
    assert outcome.status == "completed"
    assert provider.queries == [
        SearchQuery("q", max_results=10, freshness_days=7, sites=tuple(sites))
    ]


@pytest.mark.parametrize(("strategy", "per_round"), [("max", 20), ("agent", 10), ("agent_max", 10)])
async def test_other_strategies_ignore_filters(strategy: str, per_round: int) -> None:
    provider = FakeProvider()
    await run(
        provider,
        {"query": "q"},
        search_strategy=strategy,
        freshness=30,
        assigned_site_list=["a.example"],
    )
    assert provider.queries == [SearchQuery("q", max_results=per_round)]


async def test_citations_need_source_and_citation_and_a_strategy_that_cites() -> None:
    options = {"enable_source": True, "enable_citation": True, "citation_format": "[ref_<number>]"}
    cited, _ = await run(FakeProvider(), {"query": "q"}, **options)
    assert cited.for_model == format_for_model(RESULTS, cite=True, citation_format="[ref_<number>]")
    assert "e.g. [ref_1]" in cited.for_model
    default_format, _ = await run(
        FakeProvider(), {"query": "q"}, enable_source=True, enable_citation=True
    )
    assert "e.g. [1]" in default_format.for_model
    without_source, _ = await run(FakeProvider(), {"query": "q"}, enable_citation=True)
    assert without_source.for_model == format_for_model(
        RESULTS, cite=False, citation_format="[<number>]"
    )
    agent, _ = await run(FakeProvider(), {"query": "q"}, search_strategy="agent", **options)
    assert agent.for_model == format_for_model(
        RESULTS, cite=False, citation_format="[ref_<number>]"
    )
    assert "cite it" not in agent.for_model


async def test_a_failed_search_is_a_failed_outcome() -> None:
    outcome, output = await run(FakeProvider(fail="SearXNG answered HTTP 500"), {"query": "q"})
    assert outcome.status == "failed"
    assert outcome.for_model == "The web search failed: SearXNG answered HTTP 500"
    assert output["action"] == {"type": "search", "query": "q", "sources": []}


@pytest.mark.parametrize("arguments", [{}, {"query": 3}, {"query": "   "}, {"q": "x"}])
async def test_arguments_without_a_query_fail_without_searching(arguments: dict[str, Any]) -> None:
    provider = FakeProvider()
    outcome, output = await run(provider, arguments)
    assert outcome.status == "failed"
    assert "needs a `query`" in outcome.for_model
    assert provider.queries == []
    assert output["action"]["sources"] == []


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"search_strategy": "fast"}, "search_strategy must be one of"),
        ({"search_strategy": 1}, "search_strategy must be a string"),
        ({"freshness": "7"}, "freshness must be a positive number of days"),
        ({"freshness": True}, "freshness must be a positive number of days"),
        ({"assigned_site_list": "a.com"}, "assigned_site_list must be a list"),
        ({"assigned_site_list": [f"s{i}.com" for i in range(26)]}, "at most 25 sites"),
        ({"assigned_site_list": ["https://"]}, "an assigned site must name a host"),
        ({"citation_format": "<n>"}, "citation_format must be one of"),
    ],
)
async def test_unusable_options_fail_naming_the_option(options: dict[str, Any], named: str) -> None:
    provider = FakeProvider()
    outcome, _ = await run(provider, {"query": "q"}, **options)
    assert outcome.status == "failed"
    assert outcome.for_model.startswith("The web search could not run: ")
    assert named in outcome.for_model
    assert provider.queries == []


async def test_a_spec_of_another_kind_searches_with_default_options() -> None:
    provider = FakeProvider()
    outcome = await WebSearchRunner(provider).run(CodeInterpreter(), {"query": "q"}, CONTEXT)
    assert outcome.status == "completed"
    assert provider.queries == [SearchQuery("q")]


async def test_aclose_closes_a_provider_that_has_connections() -> None:
    provider = FakeProvider()
    await WebSearchRunner(provider).aclose()
    assert provider.closed

    class Bare:
        async def search(self, query: SearchQuery) -> list[SearchResult]:
            return []

    await WebSearchRunner(Bare()).aclose()  # nothing to close: no error


# -- what Anthropic's web_search_20250305 needs ----------------------------------------------


async def test_the_output_keeps_what_the_model_read_of_each_result() -> None:
    dated = [RESULTS[0], replace(RESULTS[1], published=datetime(2025, 4, 30, 8, tzinfo=UTC))]
    outcome, output = await run(FakeProvider(dated), {"query": "q"})
    assert output["results_read"] == [
        {
            "url": "https://weather.example.com/hz",
            "title": "Hangzhou weather",
            "published": None,
            "content": result_text(dated[0], "[<number>]"),
        },
        {
            "url": "https://lake.example.org/",
            "title": "West Lake",
            "published": "2025-04-30",
            "content": result_text(dated[1], "[<number>]"),
        },
    ]
    # each result's text is the model's, word for word
    assert all(read["content"] in outcome.for_model for read in output["results_read"])
    assert "error_code" not in output


@pytest.mark.parametrize(
    ("provider", "arguments", "options", "code"),
    [
        (FakeProvider(fail="SearXNG answered HTTP 500"), {"query": "q"}, {}, "unavailable"),
        (
            FakeProvider(fail="SearXNG answered HTTP 429", rate_limited=True),
            {"query": "q"},
            {},
            "too_many_requests",
        ),
        (FakeProvider(), {}, {}, "invalid_input"),
        (FakeProvider(), {"query": "q"}, {"search_strategy": "fast"}, "invalid_input"),
    ],
)
async def test_a_failed_search_names_why(
    provider: FakeProvider, arguments: dict[str, Any], options: dict[str, Any], code: str
) -> None:
    outcome, output = await run(provider, arguments, **options)
    assert outcome.status == "failed"
    assert output["error_code"] == code
    assert output["results_read"] == []


async def test_blocked_sites_are_dropped_and_the_rest_renumbered() -> None:
    results = [
        SearchResult(1, "Spam", "https://spam.example/a", "Spam", "Buy."),
        SearchResult(2, "More spam", "https://www.sub.spam.example/b", "Spam", "Buy more."),
        SearchResult(3, "West Lake", "https://lake.example.org/", "Lake", "Boats."),
    ]
    provider = FakeProvider(results)
    spec = WebSearch(blocked_sites=("spam.example",))
    outcome = await WebSearchRunner(provider).run(spec, {"query": "q"}, CONTEXT)
    output = json.loads(outcome.output)
    assert [r["url"] for r in output["search_results"]] == ["https://lake.example.org/"]
    assert output["search_results"][0]["index"] == 1
    assert output["action"]["sources"] == [{"type": "url", "url": "https://lake.example.org/"}]
    assert "spam" not in outcome.for_model.lower()
    assert "[1] West Lake" in outcome.for_model
    # the sites asked of the provider are untouched: blocking is this runner's
    assert provider.queries == [SearchQuery("q", max_results=10)]


async def test_every_result_blocked_is_a_search_with_no_results() -> None:
    spec = WebSearch(blocked_sites=("example.com", "example.org"))
    outcome = await WebSearchRunner(FakeProvider()).run(spec, {"query": "q"}, CONTEXT)
    assert outcome.status == "completed"
    assert outcome.for_model == "The web search returned no results."


def test_the_user_location_is_told_to_the_model() -> None:
    runner = WebSearchRunner(FakeProvider())
    located = WebSearch(user_location=UserLocation("Hangzhou", "Zhejiang", "CN", "Asia/Shanghai"))
    description = runner.function(located).description or ""
    assert "The user is in Hangzhou, Zhejiang, CN (time zone Asia/Shanghai)" in description
    zone_only = runner.function(WebSearch(user_location=UserLocation(timezone="Europe/Paris")))
    assert "The user is in time zone Europe/Paris" in (zone_only.description or "")
    # an empty location says nothing
    assert runner.function(WebSearch(user_location=UserLocation())) == runner.function(WebSearch())
