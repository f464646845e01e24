"""WebExtractorRunner: pages read from a local server allow-listed past the SSRF guard, the
same server refused when not, and the model's bad arguments as failed outcomes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from openscope.core.builtin_tools import BuiltinToolKind, WebExtractor
from openscope.core.messages import BuiltinResultPart
from openscope.core.tool_runner import ToolContext
from openscope.tools.fetch import Fetcher, FetchPolicy, networks
from openscope.tools.web_extractor import OutputLimits, WebExtractorRunner
from openscope.tools.web_extractor import WebExtractor as Extractor

CONTEXT = ToolContext(request_id="req_1", workspace="default")
GOAL = "What are the costs and concerns of the turbines?"


def runner(*allow: str, max_urls: int = 5) -> WebExtractorRunner:
    fetcher = Fetcher(FetchPolicy(allow=networks(*allow)))
    return WebExtractorRunner(Extractor(fetcher, OutputLimits(max_urls=max_urls)))


def test_offers_goal_and_urls_capped_at_the_extractors_limit() -> None:
    tool = runner(max_urls=3)
    assert tool.kind is BuiltinToolKind.WEB_EXTRACTOR
    spec = tool.function(WebExtractor())
    assert spec.name == "web_extractor"
    assert spec.parameters["required"] == ["goal", "urls"]
    assert spec.parameters["properties"]["goal"]["type"] == "string"
    urls = spec.parameters["properties"]["urls"]
    assert (urls["type"], urls["items"], urls["minItems"], urls["maxItems"]) == (
        "array",
        {"type": "string"},
        1,
        3,
    )


async def test_an_allow_listed_page_is_read_into_the_items_fields(fixture_server: str) -> None:
    url = f"{fixture_server}/article.html"
    outcome = await runner("127.0.0.1").run(WebExtractor(), {"goal": GOAL, "urls": [url]}, CONTEXT)
    assert outcome.status == "completed"
    output = json.loads(outcome.output)
    assert list(output) == ["goal", "urls", "output"]
    assert (output["goal"], output["urls"]) == (GOAL, [url])
    head = (
        f"The useful information in {url} for user goal {GOAL} as follows: \n\nEvidence in page: \n"
    )
    assert output["output"].startswith(head)
    assert "The main obstacles are cost and durability." in output["output"]
    assert outcome.for_model == output["output"]


async def test_loopback_is_refused_unless_allow_listed(fixture_server: str) -> None:
    url = f"{fixture_server}/article.html"
    outcome = await runner().run(WebExtractor(), {"goal": GOAL, "urls": [url]}, CONTEXT)
    assert outcome.status == "failed"
    output = json.loads(outcome.output)
    assert output["urls"] == [url]
    assert (
        "The page could not be read: 127.0.0.1 is not allowed: loopback address"
        in (output["output"])
    )
    assert outcome.for_model == output["output"]


async def test_one_readable_url_of_two_completes_the_call(fixture_server: str) -> None:
    good, missing = f"{fixture_server}/article.html", f"{fixture_server}/nope.html"
    outcome = await runner("127.0.0.1").run(
        WebExtractor(), {"goal": GOAL, "urls": [good, missing]}, CONTEXT
    )
    assert outcome.status == "completed"
    assert "The page could not be read: HTTP 404" in outcome.for_model


async def test_a_single_url_string_is_taken_as_a_list(fixture_server: str) -> None:
    url = f"{fixture_server}/article.html"
    outcome = await runner("127.0.0.1").run(WebExtractor(), {"goal": GOAL, "urls": url}, CONTEXT)
    assert outcome.status == "completed"
    assert json.loads(outcome.output)["urls"] == [url]


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        ({"urls": ["https://example.com/"]}, "it needs a `goal`: a non-empty string"),
        ({"goal": " ", "urls": ["https://example.com/"]}, "it needs a `goal`"),
        ({"goal": 5, "urls": ["https://example.com/"]}, "it needs a `goal`"),
        ({"goal": "g"}, "it needs `urls`: a non-empty list of URL strings"),
        ({"goal": "g", "urls": []}, "it needs `urls`"),
        ({"goal": "g", "urls": {"a": 1}}, "it needs `urls`"),
        ({"goal": "g", "urls": ["https://example.com/", 3]}, "every entry of `urls` must be"),
        ({"goal": "g", "urls": [""]}, "every entry of `urls` must be"),
    ],
)
async def test_bad_arguments_fail_naming_the_problem(
    arguments: dict[str, Any], problem: str
) -> None:
    outcome = await runner().run(WebExtractor(), arguments, CONTEXT)
    assert outcome.status == "failed"
    assert outcome.for_model.startswith("The web_extractor call was not run: ")
    assert problem in outcome.for_model
    output = json.loads(outcome.output)
    assert output["output"].startswith("Not run: ")
    assert all(isinstance(url, str) for url in output["urls"])
    assert isinstance(output["goal"], str)


def test_recall_gives_the_output_or_the_error() -> None:
    tool = runner()
    done = json.dumps({"goal": "g", "urls": ["https://a.example"], "output": "Summary: x"})
    kind = BuiltinToolKind.WEB_EXTRACTOR
    assert tool.recall(BuiltinResultPart("we_1", kind, done)) == "Summary: x"
    failed = BuiltinResultPart("we_2", kind, '{"error": "not run"}', status="failed")
    assert tool.recall(failed) == "not run"
    assert tool.recall(BuiltinResultPart("we_3", kind, "not json")) == (
        "The web_extractor call left no output."
    )
