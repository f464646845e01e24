"""The Responses item fields of the image tools (`web_search_image_call`,
`image_search_call`, builtin-tools.md §3.5), as both image runners write and read them::

    {"name": "<tool>", "arguments": "<the call's JSON>", "output": "<JSON list of images>"}

`arguments` and `output` are JSON strings, as on Model Studio, written with Python's default
separators as its samples are. A failed call keeps the shape, with the reason as `output`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from openscope.core.messages import BuiltinResultPart
from openscope.core.tool_runner import ToolOutcome
from openscope.tools.web_search.images import ImageResult, ImageSearchProvider
from openscope.tools.web_search.model import SearchProvider


def shown_arguments(arguments: dict[str, Any]) -> str:
    """The call's arguments as the item's `arguments` string (the encoder's `added` item
    writes them the same way, so `added` and `done` agree)."""
    return json.dumps(arguments, ensure_ascii=False)


def listed(images: Sequence[ImageResult]) -> str:
    """The item's `output`: the images found as `[{"title", "url", "index"}]`."""
    return json.dumps(
        [{"title": image.title, "url": image.url, "index": image.index} for image in images],
        ensure_ascii=False,
    )


def call_fields(name: str, arguments: str, output: str) -> str:
    return json.dumps({"name": name, "arguments": arguments, "output": output}, ensure_ascii=False)


def failed_call(name: str, arguments: str, reason: str) -> ToolOutcome:
    """A failed call: the model reads the reason, the item shows it as its `output`."""
    return ToolOutcome(
        for_model=reason, output=call_fields(name, arguments, reason), status="failed"
    )


def recall_images(result: BuiltinResultPart) -> str:
    """An earlier image tool run as the model reads it again: the images it listed (title
    and URL), or why it failed."""
    try:
        fields = json.loads(result.output)
        found = json.loads(fields["output"]) if result.status == "completed" else None
    except (ValueError, KeyError, TypeError):
        return "The image search left no readable result."
    if not isinstance(found, list):
        reason = fields.get("output") if isinstance(fields, dict) else None
        return str(reason or "The image search failed.")
    lines = [
        f"[{image.get('index')}] {image.get('title') or image.get('url')} ({image.get('url')})"
        for image in found
        if isinstance(image, dict)
    ]
    return "\n".join(["Images found:", *lines]) if lines else "The image search found nothing."


def image_provider(provider: SearchProvider) -> ImageSearchProvider | str:
    """The provider as one with image results, or why it cannot be used (for the model)."""
    if isinstance(provider, ImageSearchProvider):
        return provider
    return (
        f"Image search is not available: the search provider ({type(provider).__name__}) "
        "has no image results."
    )
