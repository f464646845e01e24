"""ImageSearchRunner: the function it offers (Model Studio's `img_idx` and `bbox`), what it
asks the model about which image (the region in the instruction), the query it makes of the
answer, the `image_search_call` fields it writes (builtin-tools.md §3.5), and every way a
call fails (a failed outcome with the reason, the item's shape kept); then the same runner
over the local index's images."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from openscope.core.builtin_tools import BuiltinToolKind, ImageSearch
from openscope.core.errors import InternalError
from openscope.core.messages import BuiltinResultPart, ImagePart
from openscope.core.tool_runner import ToolContext, ToolOutcome
from openscope.tools.web_search import (
    ImageResult,
    ImageSearchRunner,
    LocalIndexProvider,
    SearchFailed,
    SearchQuery,
    SearchResult,
    build_index,
)
from openscope.tools.web_search.image_search_runner import search_words

SPEC = ImageSearch(BuiltinToolKind.IMAGE_SEARCH)
CAT = ImageResult(1, "A tabby cat", "https://img.example/cat.jpg", "https://pets.example/cats")
KITTEN = ImageResult(2, "Kitten", "https://img.example/kitten.png")
PHOTO = ImagePart("https://img.example/query.jpg")
DRAWING = ImagePart("data:image/png;base64,AAAA")


class FakeImages:
    def __init__(self, found: list[ImageResult], fail: bool = False) -> None:
        self.found = found
        self.fail = fail
        self.queries: list[SearchQuery] = []

    async def search(self, query: SearchQuery) -> list[SearchResult]:
        raise AssertionError("an image search never searches pages")

    async def search_images(self, query: SearchQuery) -> list[ImageResult]:
        self.queries.append(query)
        if self.fail:
            raise SearchFailed("the image index is down")
        return self.found


class PagesOnly:
    async def search(self, query: SearchQuery) -> list[SearchResult]:
        return [SearchResult(1, "t", "https://a.example", "a", "s")]


class FakeModel:
    """`describe` as the tool loop gives it: records what it was asked, answers `answer`
    (or raises `error`)."""

    def __init__(self, answer: str = "tabby cat", error: Exception | None = None) -> None:
        self.answer = answer
        self.error = error
        self.asked: list[tuple[ImagePart, str]] = []

    async def __call__(self, image: ImagePart, instruction: str) -> str:
        self.asked.append((image, instruction))
        if self.error is not None:
            raise self.error
        return self.answer


def context(
    model: FakeModel | None, images: tuple[ImagePart, ...] = (PHOTO, DRAWING)
) -> ToolContext:
    return ToolContext("req_1", "default", images=images, describe=model)


async def run(
    arguments: dict[str, Any],
    provider: Any = None,
    model: FakeModel | None = None,
    images: tuple[ImagePart, ...] = (PHOTO, DRAWING),
) -> tuple[ToolOutcome, dict[str, Any]]:
    runner = ImageSearchRunner(provider if provider is not None else FakeImages([CAT]))
    outcome = await runner.run(SPEC, arguments, context(model, images))
    return outcome, json.loads(outcome.output)


def test_offers_image_search_with_model_studios_arguments() -> None:
    runner = ImageSearchRunner(FakeImages([]))
    assert runner.kind is BuiltinToolKind.IMAGE_SEARCH
    spec = runner.function(SPEC)
    assert spec.name == "image_search"
    assert spec.description
    properties = spec.parameters["properties"]
    assert spec.parameters["required"] == ["img_idx"]
    assert properties["img_idx"]["type"] == "integer"
    assert properties["img_idx"]["minimum"] == 0
    bbox = properties["bbox"]
    assert (bbox["minItems"], bbox["maxItems"]) == (4, 4)
    assert bbox["items"] == {"type": "number", "minimum": 0, "maximum": 1000}


async def test_the_model_describes_the_region_and_its_words_are_searched() -> None:
    model, provider = FakeModel('  "A tabby cat on a sofa."\n'), FakeImages([CAT, KITTEN, CAT])
    arguments = {"img_idx": 1, "bbox": [100, 200.5, 600, 900]}
    outcome, fields = await run(arguments, provider, model)
    assert outcome.status == "completed"
    # the second image, and the region in the instruction
    assert model.asked == [
        (
            DRAWING,
            "Describe the region (100,200.5)-(600,900) of this image, in coordinates from 0 to "
            "1000, in a few words for an image search; answer with the words only.",
        )
    ]
    assert [q.text for q in provider.queries] == ["A tabby cat on a sofa"]
    listed = [
        {"title": "A tabby cat", "url": "https://img.example/cat.jpg", "index": 1},
        {"title": "Kitten", "url": "https://img.example/kitten.png", "index": 2},
    ]
    assert fields == {
        "name": "image_search",
        "arguments": '{"img_idx": 1, "bbox": [100, 200.5, 600, 900]}',
        "output": json.dumps(listed),
    }
    # the model reads what was searched for, and the images (the duplicate dropped)
    assert outcome.for_model.startswith(
        'Searched the web for images of "A tabby cat on a sofa", as input image 1 '
        "(region 100,200.5-600,900) shows.\n\n# Image search results"
    )
    assert (
        "[1] A tabby cat\nImage: https://img.example/cat.jpg\nPage: https://pets.example/cats"
        in (outcome.for_model)
    )
    assert "[2] Kitten" in outcome.for_model and "[3]" not in outcome.for_model


async def test_without_a_bbox_the_whole_image_is_described() -> None:
    model = FakeModel()
    outcome, fields = await run({"img_idx": 0}, model=model)
    assert outcome.status == "completed"
    assert model.asked == [
        (
            PHOTO,
            "Describe this image in a few words for an image search; answer with the words only.",
        )
    ]
    assert fields["arguments"] == '{"img_idx": 0}'
    assert 'images of "tabby cat", as input image 0 shows.' in outcome.for_model


async def test_nothing_found_is_a_completed_empty_list() -> None:
    outcome, fields = await run({"img_idx": 0}, FakeImages([]), FakeModel())
    assert outcome.status == "completed"
    assert fields["output"] == "[]"
    assert outcome.for_model.endswith("The image search returned no images.")


def test_search_words_keep_a_short_first_line() -> None:
    assert search_words("\n  red   bicycle。\nmore") == "red bicycle"
    assert search_words("'x'") == "x"
    long = " ".join(["word"] * 40)  # 199 characters
    cut = search_words(long)
    assert len(cut) <= 120 and cut.endswith("word") and cut == " ".join(["word"] * 24)
    assert search_words("a" * 200) == "a" * 120
    assert search_words("  \n ") == ""


BAD_INDEX = "The image_search call needs `img_idx`: the index of an input image, from 0."
BAD_BOX = (
    "The image_search `bbox` must be four numbers [x1, y1, x2, y2] from 0 to 1000, with "
    "x1 < x2 and y1 < y2."
)


@pytest.mark.parametrize(
    ("arguments", "reason"),
    [
        ({}, BAD_INDEX),
        ({"img_idx": "0"}, BAD_INDEX),
        ({"img_idx": True}, BAD_INDEX),
        ({"img_idx": 0.5}, BAD_INDEX),
        (
            {"img_idx": 2},
            "The image_search `img_idx` 2 is out of range: the input has 2 images, indexed from 0.",
        ),
        (
            {"img_idx": -1},
            "The image_search `img_idx` -1 is out of range: the input has 2 images, indexed "
            "from 0.",
        ),
        ({"img_idx": 0, "bbox": [0, 0, 1000]}, BAD_BOX),
        ({"img_idx": 0, "bbox": "0,0,10,10"}, BAD_BOX),
        ({"img_idx": 0, "bbox": [0, 0, "10", 10]}, BAD_BOX),
        ({"img_idx": 0, "bbox": [0, 0, 1001, 10]}, BAD_BOX),
        ({"img_idx": 0, "bbox": [-1, 0, 10, 10]}, BAD_BOX),
        ({"img_idx": 0, "bbox": [10, 0, 10, 10]}, BAD_BOX),
        ({"img_idx": 0, "bbox": [0, 20, 10, 10]}, BAD_BOX),
        ({"img_idx": 0, "bbox": [False, 0, 10, 10]}, BAD_BOX),
    ],
)
async def test_bad_arguments_fail_unasked_and_unsearched(
    arguments: dict[str, Any], reason: str
) -> None:
    model, provider = FakeModel(), FakeImages([CAT])
    outcome, fields = await run(arguments, provider, model)
    assert outcome.status == "failed"
    assert outcome.for_model == reason
    assert fields == {
        "name": "image_search",
        "arguments": json.dumps(arguments),
        "output": reason,
    }
    assert not model.asked and not provider.queries


async def test_an_input_without_images_fails() -> None:
    outcome, _ = await run({"img_idx": 0}, model=FakeModel(), images=())
    assert (outcome.status, outcome.for_model) == (
        "failed",
        "The input holds no image to search by.",
    )
    outcome, _ = await run({"img_idx": 1}, model=FakeModel(), images=(PHOTO,))
    assert outcome.for_model == (
        "The image_search `img_idx` 1 is out of range: the input has 1 image, indexed from 0."
    )


async def test_without_a_model_to_ask_it_fails() -> None:
    provider = FakeImages([CAT])
    outcome, fields = await run({"img_idx": 0}, provider, model=None)
    reason = "Image search is not available: no model is at hand to look at the image."
    assert (outcome.status, outcome.for_model, fields["output"]) == ("failed", reason, reason)
    assert not provider.queries


async def test_a_provider_without_images_fails_before_the_model_is_asked() -> None:
    model = FakeModel()
    outcome, _ = await run({"img_idx": 0}, PagesOnly(), model)
    assert outcome.status == "failed"
    assert outcome.for_model == (
        "Image search is not available: the search provider (PagesOnly) has no image results."
    )
    assert not model.asked


@pytest.mark.parametrize("answer", ["", "  \n\n ", '""'])
async def test_an_empty_description_fails_unsearched(answer: str) -> None:
    provider = FakeImages([CAT])
    outcome, _ = await run({"img_idx": 0}, provider, FakeModel(answer))
    assert outcome.status == "failed"
    assert outcome.for_model == (
        "The image search has nothing to search for: the image's description is empty."
    )
    assert not provider.queries


async def test_a_model_that_cannot_answer_fails_the_call() -> None:
    model = FakeModel(error=InternalError("the backend went away"))
    outcome, fields = await run({"img_idx": 0}, model=model)
    reason = "The image could not be described: the backend went away"
    assert (outcome.status, outcome.for_model, fields["output"]) == ("failed", reason, reason)


async def test_a_failed_search_fails_the_call() -> None:
    outcome, _ = await run({"img_idx": 0}, FakeImages([CAT], fail=True), FakeModel())
    assert outcome.status == "failed"
    assert outcome.for_model == "The image search failed: the image index is down"


async def test_recall_lists_the_images_or_the_reason() -> None:
    runner = ImageSearchRunner(FakeImages([]))
    outcome, _ = await run({"img_idx": 0}, FakeImages([CAT]), FakeModel())
    done = BuiltinResultPart("bc_1", BuiltinToolKind.IMAGE_SEARCH, outcome.output)
    assert runner.recall(done) == ("Images found:\n[1] A tabby cat (https://img.example/cat.jpg)")
    failed, _ = await run({"img_idx": 9}, model=FakeModel())
    result = BuiltinResultPart("bc_2", BuiltinToolKind.IMAGE_SEARCH, failed.output, "failed")
    assert runner.recall(result) == failed.for_model


async def test_over_the_local_index_images(tmp_path: Path) -> None:
    corpus = tmp_path / "images.jsonl"
    records = [
        {"image_url": "https://img.example/tabby.jpg", "title": "Tabby cat sleeping"},
        {"image_url": "https://img.example/bike.jpg", "title": "Red bicycle"},
    ]
    corpus.write_text("".join(orjson.dumps(r).decode() + "\n" for r in records))
    db = tmp_path / "index.sqlite3"
    build_index(corpus, db)
    provider = LocalIndexProvider(db)
    outcome, fields = await run({"img_idx": 0}, provider, FakeModel("red bicycle"))
    assert outcome.status == "completed"
    assert json.loads(fields["output"]) == [
        {"title": "Red bicycle", "url": "https://img.example/bike.jpg", "index": 1}
    ]
