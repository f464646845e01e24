"""Image search: what a provider that can find images offers, and what it finds.

Image search goes through the same providers as web search (SearXNG's `images` category,
the local index's image records), behind a second, optional interface: a provider is an
`ImageSearchProvider` when it has `search_images`. One without it (a provider that only
finds pages) cannot serve `web_search_image`, and the runner says so as a failed call.

An `ImageResult` carries what the Responses `web_search_image_call` item shows (`title`,
`url` of the image, `index`) and what helps the model tell images apart (the page the image
is on, a thumbnail)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol, runtime_checkable

from openscope.tools.web_search.model import SearchQuery

NO_IMAGES = "The image search returned no images."


@dataclass(frozen=True, slots=True)
class ImageResult:
    """One image found. `url` is the image itself; `page_url` the page it is on ("" when
    unknown); `thumbnail_url` a smaller copy ("" when none). `index` is 1-based, the
    position in the list the model sees and the item's `output` holds."""

    index: int
    title: str
    url: str
    page_url: str = ""
    thumbnail_url: str = ""


@runtime_checkable
class ImageSearchProvider(Protocol):
    """A provider that finds images for a text query. Raises `SearchFailed` and nothing
    else; `query.sites` and `query.freshness_days` are not used (web_search_image takes
    no options)."""

    async def search_images(self, query: SearchQuery) -> list[ImageResult]: ...


def numbered_images(results: Iterable[ImageResult], start: int = 1) -> list[ImageResult]:
    """The images renumbered from `start`, in order."""
    return [replace(result, index=start + i) for i, result in enumerate(results)]


def merge_images(rounds: Sequence[Sequence[ImageResult]], limit: int) -> list[ImageResult]:
    """The images of several queries as one list: first occurrence of each image URL kept,
    queries interleaved (the first image of each query, then the second, ...) so that every
    query is represented within `limit`, numbered 1..n."""
    seen: set[str] = set()
    merged: list[ImageResult] = []
    longest = max((len(found) for found in rounds), default=0)
    for position in range(longest):
        for found in rounds:
            if position < len(found) and found[position].url not in seen:
                seen.add(found[position].url)
                merged.append(found[position])
    return numbered_images(merged[:limit])


def format_images_for_model(results: Sequence[ImageResult]) -> str:
    """The text the model reads for the images found: each numbered, with its title, the
    image's URL and the page it is on."""
    if not results:
        return NO_IMAGES
    blocks = []
    for result in results:
        lines = [f"[{result.index}] {result.title}", f"Image: {result.url}"]
        if result.page_url and result.page_url != result.url:
            lines.append(f"Page: {result.page_url}")
        blocks.append("\n".join(lines))
    head = "# Image search results\n\nThe following images were found on the web."
    return head + "\n\n" + "\n\n".join(blocks)
