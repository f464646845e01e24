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
