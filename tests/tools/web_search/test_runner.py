"""WebSearchRunner against a fake provider: the query it sends under each strategy, the
Responses fields it writes, and every way a call fails (as a failed outcome, never raised)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from openscope.core.builtin_tools import BuiltinToolKind, CodeInterpreter, WebSearch
from openscope.core.tool_runner import ToolContext
from openscope.tools.web_search import (
    SearchFailed,
    SearchQuery,
    SearchResult,
    WebSearchRunner,
    format_for_model,
)

CONTEXT = ToolContext(request_id="req_1", workspace="default")
RESULTS = [
    SearchResult(1, "Hangzhou weather", "https://weather.example.com/hz", "Weather", "Sunny."),
    SearchResult(
        2, "West Lake", "https://lake.example.org/", "Lake", "Boats.", icon="https://i/x.ico"
    ),
]


class FakeProvider:
    def __init__(self, results: list[SearchResult] | None = None, fail: str | None = None):
        self.results = RESULTS if results is None else results
        self.fail = fail
        self.queries: list[SearchQuery] = []
        self.closed = False

    async def search(self, query: SearchQuery) -> list[SearchResult]:
        self.queries.append(query)
        if self.fail is not None:
            raise SearchFailed(self.fail)
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
