"""An earlier search as the model reads it again, from its stored output alone."""

from __future__ import annotations

import json

from openscope.core.builtin_tools import BuiltinToolKind, WebSearch
from openscope.core.messages import BuiltinResultPart
from openscope.core.tool_runner import ToolContext
from openscope.tools.web_search import SearchResult, WebSearchRunner
from tests.tools.web_search.test_runner import FakeProvider

KIND = BuiltinToolKind.WEB_SEARCH


async def test_a_search_is_recalled_with_its_query_and_numbered_results() -> None:
    found = [SearchResult(1, "West Lake", "https://lake.example.org/", "Lake", "Boats.")]
    runner = WebSearchRunner(FakeProvider(found))
    outcome = await runner.run(WebSearch(), {"query": "lake"}, ToolContext("r", "w"))

    text = runner.recall(BuiltinResultPart("ws_1", KIND, outcome.output))
    # what the model read the first time: marker, title, source, snippet
    assert text == (
        "Results of the web search for 'lake':\n\n"
        "[1] West Lake\nSource: Lake (https://lake.example.org/)\nBoats."
    )
    # an item a client sent back keeps no snippets: titles and URLs
    data = json.loads(outcome.output)
    del data["results_read"]
    text = runner.recall(BuiltinResultPart("ws_1", KIND, json.dumps(data)))
    assert text == (
        "Results of the web search for 'lake':\n[1] West Lake (https://lake.example.org/)"
    )


async def test_a_search_that_found_nothing_or_failed_says_so() -> None:
    runner = WebSearchRunner(FakeProvider([]))
    outcome = await runner.run(WebSearch(), {"query": "void"}, ToolContext("r", "w"))
    assert runner.recall(BuiltinResultPart("ws_1", KIND, outcome.output)) == (
        "The web search for 'void' found nothing."
    )
    failed = BuiltinResultPart("ws_2", KIND, '{"error": "timed out"}', status="failed")
    assert runner.recall(failed) == "The web search found nothing: timed out"
    assert runner.recall(BuiltinResultPart("ws_3", KIND, "[]")) == (
        "The web search left no readable result."
    )


async def test_a_later_search_numbers_its_results_after_the_earlier_ones() -> None:
    runner = WebSearchRunner(FakeProvider())
    first = await runner.run(WebSearch(), {"query": "a"}, ToolContext("r", "w"))
    earlier = (
        BuiltinResultPart("ws_1", KIND, first.output),
        # a failed search and another tool's result number nothing
        BuiltinResultPart("ws_2", KIND, '{"search_results": [{"index": 9}]}', status="failed"),
        BuiltinResultPart("ci_1", BuiltinToolKind.CODE_INTERPRETER, '{"outputs": []}'),
    )
    second = await runner.run(WebSearch(), {"query": "b"}, ToolContext("r", "w", None, earlier))

    assert [r["index"] for r in json.loads(first.output)["search_results"]] == [1, 2]
    assert [r["index"] for r in json.loads(second.output)["search_results"]] == [3, 4]
    assert "[3] Hangzhou weather" in second.for_model


def test_an_item_with_only_its_sources_is_recalled_by_their_urls() -> None:
    runner = WebSearchRunner(FakeProvider([]))
    action = {"type": "search", "query": "q", "sources": [{"type": "url", "url": "https://a/"}]}
    text = runner.recall(BuiltinResultPart("ws_1", KIND, json.dumps({"action": action})))
    assert text == "Results of the web search for 'q':\n[1] https://a/"


async def test_a_query_past_the_limit_fails_as_too_long_without_searching() -> None:
    provider = FakeProvider()
    runner = WebSearchRunner(provider)
    outcome = await runner.run(WebSearch(), {"query": "word " * 40}, ToolContext("r", "w"))
    assert outcome.status == "failed"
    assert json.loads(outcome.output)["error_code"] == "query_too_long"
    assert outcome.for_model.startswith("The query is longer than 120 characters")
    assert not provider.queries
