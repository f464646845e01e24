"""`WebSearchImageRunner`: `web_search_image` as the tool loop runs it (`core.tool_runner`).

The model calls `web_search_image` with `{"queries": ["cute cat", "猫咪图片"]}` (one or more
queries, as in Model Studio's items); each query is searched through the provider's image
results, and the images found are merged (each query's first image, then each query's
second, ...), deduplicated and numbered from 1.

The outcome's `output` is the JSON of the Responses `web_search_image_call` item's own fields
(builtin-tools.md §3.5, written by `image_call`)::

    {"name": "web_search_image",
     "arguments": "{\\"queries\\": [\\"cute cat\\"]}",
     "output": "[{\\"title\\": \\"A cat\\", \\"url\\": \\"https://…/cat.jpg\\", \\"index\\": 1}]"}

A provider without image results (one that is not an `ImageSearchProvider`) fails every call,
saying so: an empty list would read as "nothing matched".
"""

from __future__ import annotations

import asyncio
from typing import Any

from openscope.core.builtin_tools import BuiltinTool, BuiltinToolKind
from openscope.core.messages import BuiltinResultPart
from openscope.core.request import ToolSpec
from openscope.core.tool_runner import ToolContext, ToolOutcome
from openscope.tools.web_search.image_call import (
    call_fields,
    failed_call,
    image_provider,
    listed,
    recall_images,
    shown_arguments,
)
from openscope.tools.web_search.images import (
    format_images_for_model,
    merge_images,
)
from openscope.tools.web_search.model import SearchFailed, SearchProvider, SearchQuery

FUNCTION_NAME = "web_search_image"
MAX_QUERIES = 4
MAX_QUERY_CHARS = 120
# Images asked for per query, and shown for a call at most (however many queries).
IMAGES_PER_QUERY = 10
MAX_IMAGES = 10
DESCRIPTION = (
    "Search the web for images. Returns numbered images (title, image URL, the page it is "
    "on). Give one or more short queries, e.g. the same subject in different words or "
    "languages."
)
PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "queries": {
            "type": "array",
            "description": "What to search images of: one or more short queries.",
            # bounded, a forced call (whose grammar follows this schema) writes words
            "items": {"type": "string", "minLength": 1, "maxLength": MAX_QUERY_CHARS},
            "minItems": 1,
            "maxItems": MAX_QUERIES,
        }
    },
    "required": ["queries"],
}


class WebSearchImageRunner:
    """Runs `web_search_image` calls against one search provider's image results. It
    shares the provider with `WebSearchRunner`, which closes it."""

    def __init__(self, provider: SearchProvider) -> None:
        self.provider = provider

    @property
    def kind(self) -> BuiltinToolKind:
        return BuiltinToolKind.WEB_SEARCH_IMAGE

    def function(self, spec: BuiltinTool) -> ToolSpec:
        return ToolSpec(FUNCTION_NAME, DESCRIPTION, PARAMETERS)

    async def run(
        self, spec: BuiltinTool, arguments: dict[str, Any], context: ToolContext
    ) -> ToolOutcome:
        shown = shown_arguments(arguments)
        queries = _queries(arguments.get("queries"))
        if isinstance(queries, str):
            return _failed(shown, queries)
        provider = image_provider(self.provider)
        if isinstance(provider, str):
            return _failed(shown, provider)
        failure: SearchFailed | None = None
        try:
            # A task group: when one query fails, the others are cancelled, not left running.
            async with asyncio.TaskGroup() as group:
                searches = [
                    group.create_task(
                        provider.search_images(SearchQuery(text, max_results=IMAGES_PER_QUERY))
                    )
                    for text in queries
                ]
        except* SearchFailed as failed:
            first = failed.exceptions[0]  # one group deep: never itself a group
            failure = first if isinstance(first, SearchFailed) else SearchFailed(str(first))
        if failure is not None:
            return _failed(shown, f"The image search failed: {failure.message}")
        images = merge_images([search.result() for search in searches], MAX_IMAGES)
        return ToolOutcome(
            for_model=format_images_for_model(images),
            output=call_fields(FUNCTION_NAME, shown, listed(images)),
        )

    def recall(self, result: BuiltinResultPart) -> str:
        """An earlier image search as the model reads it again: the images it listed (title
        and URL), or why it failed."""
        return recall_images(result)


def _queries(value: Any) -> list[str] | str:
    """The call's queries, or why they cannot be searched (told to the model)."""
    if not isinstance(value, list) or not value:
        return "The web_search_image call needs `queries`: a list of one or more strings."
    if not all(isinstance(query, str) for query in value):
        return "Each of the web_search_image `queries` must be a string."
    if len(value) > MAX_QUERIES:
        return f"The web_search_image call takes at most {MAX_QUERIES} queries."
    # A blank query beside others adds nothing and is left out; only blanks search nothing.
    queries = [" ".join(query.split()) for query in value if query.strip()]
    if not queries:
        return "The web_search_image `queries` hold no words to search for."
    if any(len(query) > MAX_QUERY_CHARS for query in queries):
        return f"Each web_search_image query must be at most {MAX_QUERY_CHARS} characters."
    return list(dict.fromkeys(queries))


def _failed(arguments: str, reason: str) -> ToolOutcome:
    return failed_call(FUNCTION_NAME, arguments, reason)
