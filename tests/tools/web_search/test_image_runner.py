"""WebSearchImageRunner: the function it offers, the Responses fields it writes (name,
arguments, output as JSON strings, builtin-tools.md §3.5), how several queries merge, and
every way a call fails (a failed outcome with the reason, never an empty success); then the
same runner over the fake SearXNG and over the local index."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from openscope.core.builtin_tools import BuiltinToolKind, ImageSearch
from openscope.core.messages import BuiltinResultPart
from openscope.core.tool_runner import ToolContext, ToolOutcome
from openscope.tools.web_search import (
    ImageResult,
    LocalIndexProvider,
    SearchFailed,
    SearchQuery,
    SearchResult,
    SearxngProvider,
    WebSearchImageRunner,
    build_index,
)
from tests.tools.web_search.fake_searxng import FakeSearxng, searxng_image_result, searxng_page

CONTEXT = ToolContext(request_id="req_1", workspace="default")
SPEC = ImageSearch()
CAT = ImageResult(1, "可爱的小猫咪", "https://example.com/cat.jpg", "https://example.com/cats")
KITTEN = ImageResult(2, "Cute kitten", "https://example.org/kitten.png")


class FakeImages:
    def __init__(self, found: dict[str, list[ImageResult]], fail: str | None = None) -> None:
        self.found = found
        self.fail = fail
        self.queries: list[SearchQuery] = []

    async def search(self, query: SearchQuery) -> list[SearchResult]:
        raise AssertionError("an image search never searches pages")

    async def search_images(self, query: SearchQuery) -> list[ImageResult]:
        self.queries.append(query)
        if self.fail is not None and query.text == self.fail:
            raise SearchFailed(f"{query.text} broke")
        return self.found.get(query.text, [])


class PagesOnly:
    async def search(self, query: SearchQuery) -> list[SearchResult]:
        return [SearchResult(1, "t", "https://a.example", "a", "s")]


async def run(provider: Any, arguments: dict[str, Any]) -> tuple[ToolOutcome, dict[str, Any]]:
    outcome = await WebSearchImageRunner(provider).run(SPEC, arguments, CONTEXT)
    return outcome, json.loads(outcome.output)


def test_offers_web_search_image_with_queries() -> None:
    runner = WebSearchImageRunner(FakeImages({}))
    assert runner.kind is BuiltinToolKind.WEB_SEARCH_IMAGE
    spec = runner.function(SPEC)
    assert spec.name == "web_search_image"
    assert spec.description
    queries = spec.parameters["properties"]["queries"]
    assert spec.parameters["required"] == ["queries"]
    assert (queries["type"], queries["minItems"], queries["maxItems"]) == ("array", 1, 4)
    assert queries["items"] == {"type": "string", "minLength": 1, "maxLength": 120}


async def test_writes_the_items_fields_as_json_strings() -> None:
    provider = FakeImages({"猫咪图片": [CAT], "cute cat": [KITTEN]})
    outcome, fields = await run(provider, {"queries": ["猫咪图片", "cute cat"]})
    assert outcome.status == "completed"
    assert fields == {
        "name": "web_search_image",
        "arguments": '{"queries": ["猫咪图片", "cute cat"]}',
        "output": '[{"title": "可爱的小猫咪", "url": "https://example.com/cat.jpg", "index": 1}, '
        '{"title": "Cute kitten", "url": "https://example.org/kitten.png", "index": 2}]',
    }
    assert [q.text for q in provider.queries] == ["猫咪图片", "cute cat"]
    # the model reads each image numbered, with its URL and its page
    assert (
        "[1] 可爱的小猫咪\nImage: https://example.com/cat.jpg\nPage: https://example.com/cats"
        in (outcome.for_model)
    )
    assert "[2] Cute kitten\nImage: https://example.org/kitten.png" in outcome.for_model


async def test_queries_interleave_dedupe_and_cap_at_ten() -> None:
    many = [ImageResult(0, f"a{n}", f"https://a.example/{n}.jpg") for n in range(9)]
    provider = FakeImages({"a": many, "b": [KITTEN, many[0], CAT], "c": []})
    _, fields = await run(provider, {"queries": ["a", "b", "a ", "c"]})
    listed = json.loads(fields["output"])
    assert [image["url"] for image in listed] == [
        many[0].url,
        KITTEN.url,
        many[1].url,
        # many[0] again from "b": dropped
        many[2].url,
        CAT.url,
        *(image.url for image in many[3:8]),
    ]
    assert [image["index"] for image in listed] == list(range(1, 11))
    assert [q.text for q in provider.queries] == ["a", "b", "c"]  # "a " is "a"


async def test_a_blank_query_beside_others_is_left_out() -> None:
    provider = FakeImages({"cats": [CAT]})
    outcome, fields = await run(provider, {"queries": ["", "cats", "  "]})
    assert outcome.status == "completed"
    assert [q.text for q in provider.queries] == ["cats"]
    assert fields["arguments"] == '{"queries": ["", "cats", "  "]}'  # as the model wrote them


async def test_nothing_found_is_a_completed_empty_list() -> None:
    outcome, fields = await run(FakeImages({}), {"queries": ["nothing"]})
    assert (outcome.status, fields["output"]) == ("completed", "[]")
    assert outcome.for_model == "The image search returned no images."


@pytest.mark.parametrize(
    ("arguments", "reason"),
    [
        ({}, "needs `queries`: a list of one or more strings"),
        ({"queries": []}, "needs `queries`: a list of one or more strings"),
        ({"queries": "cats"}, "needs `queries`: a list of one or more strings"),
        ({"queries": [" ", ""]}, "hold no words to search for"),
        ({"queries": ["cats", 3]}, "must be a string"),
        ({"queries": ["a", "b", "c", "d", "e"]}, "at most 4 queries"),
        ({"queries": ["x" * 121]}, "at most 120 characters"),
    ],
)
async def test_bad_arguments_fail_with_the_reason(arguments: dict[str, Any], reason: str) -> None:
    provider = FakeImages({})
    outcome, fields = await run(provider, arguments)
    assert outcome.status == "failed"
    assert reason in outcome.for_model
    assert fields == {
        "name": "web_search_image",
        "arguments": json.dumps(arguments, ensure_ascii=False),
        "output": outcome.for_model,
    }
    assert provider.queries == []


async def test_a_provider_without_images_fails_every_call() -> None:
    outcome, fields = await run(PagesOnly(), {"queries": ["cats"]})
    assert outcome.status == "failed"
    assert outcome.for_model == (
        "Image search is not available: the search provider (PagesOnly) has no image results."
    )
    assert fields["output"] == outcome.for_model


async def test_a_failing_query_fails_the_call_and_stops_the_others() -> None:
    started = asyncio.Event()
    cancelled = asyncio.Event()

    class Slow(FakeImages):
        async def search_images(self, query: SearchQuery) -> list[ImageResult]:
            if query.text == "slow":
                started.set()
                try:
                    await asyncio.sleep(60)
                except asyncio.CancelledError:
                    cancelled.set()
                    raise
            await started.wait()
            return await super().search_images(query)

    outcome, fields = await run(Slow({}, fail="bad"), {"queries": ["slow", "bad"]})
    assert outcome.status == "failed"
    assert outcome.for_model == "The image search failed: bad broke"
    assert fields["output"] == outcome.for_model
    assert cancelled.is_set()


async def test_over_the_fake_searxng(searxng: FakeSearxng) -> None:
    searxng.pages = [
        searxng_page(
            [
                searxng_image_result("https://img.example.com/cat.jpg", "A cat"),
                searxng_image_result("https://img.example.com/cat2.jpg", "Another cat"),
            ]
        )
    ]
    async with SearxngProvider(searxng.base_url) as provider:
        outcome, fields = await run(provider, {"queries": ["cute cat"]})
    assert searxng.requests == [{"q": "cute cat", "format": "json", "categories": "images"}]
    assert outcome.status == "completed"
    assert json.loads(fields["output"]) == [
        {"title": "A cat", "url": "https://img.example.com/cat.jpg", "index": 1},
        {"title": "Another cat", "url": "https://img.example.com/cat2.jpg", "index": 2},
    ]


async def test_a_searxng_failure_is_a_failed_call(searxng: FakeSearxng) -> None:
    searxng.pages = [searxng_page([], unresponsive_engines=[["bing images", "timeout"]])]
    async with SearxngProvider(searxng.base_url) as provider:
        outcome, _ = await run(provider, {"queries": ["cute cat"]})
    assert outcome.status == "failed"
    assert outcome.for_model == (
        "The image search failed: no SearXNG engine answered: bing images (timeout)"
    )


async def test_over_the_local_index(tmp_path: Path) -> None:
    corpus = tmp_path / "images.jsonl"
    record = {"image_url": "https://img.example.com/lake.jpg", "title": "West Lake at dusk"}
    corpus.write_text(orjson.dumps(record).decode() + "\n")
    build_index(corpus, tmp_path / "index.sqlite3")
    provider = LocalIndexProvider(tmp_path / "index.sqlite3")
    outcome, fields = await run(provider, {"queries": ["west lake"]})
    assert outcome.status == "completed"
    assert json.loads(fields["output"]) == [
        {"title": "West Lake at dusk", "url": "https://img.example.com/lake.jpg", "index": 1}
    ]


def test_recall_lists_the_images_or_says_why_not() -> None:
    runner = WebSearchImageRunner(_RecallOnly())
    kind = BuiltinToolKind.WEB_SEARCH_IMAGE
    listed = json.dumps([{"title": "Cat", "url": "https://img.example/cat.jpg", "index": 1}])
    done = json.dumps({"name": "web_search_image", "arguments": "{}", "output": listed})
    assert runner.recall(BuiltinResultPart("i1", kind, done)) == (
        "Images found:\n[1] Cat (https://img.example/cat.jpg)"
    )
    failed = json.dumps({"name": "web_search_image", "arguments": "{}", "output": "No images."})
    assert runner.recall(BuiltinResultPart("i2", kind, failed, status="failed")) == "No images."
    assert runner.recall(BuiltinResultPart("i3", kind, "{")) == (
        "The image search left no readable result."
    )


class _RecallOnly:
    async def search(self, query: object) -> list[object]:
        raise AssertionError("recall searches nothing")
