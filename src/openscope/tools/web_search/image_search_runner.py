"""`ImageSearchRunner`: `image_search` as the tool loop runs it (`core.tool_runner`).

Model Studio's `image_search` searches the web for images like a region of an image of the
input. The model calls it with Model Studio's arguments, `{"img_idx": 0, "bbox": [x1, y1,
x2, y2]}` (builtin-tools.md §3.5): the index of an input image, from 0 over the input's
images in order, and a region of it in coordinates from 0 to 1000 (the whole image when
`bbox` is left out).

No provider here searches by image. What we have instead: the request's own model sees
images (Resolve admits `image_search` only on a backend with vision), and the search
provider finds images by text. So the run asks the model, through the loop's
`ToolContext.describe`, for a few words on that region, and searches the provider's image
results for those words. The model reads what was searched for and the images found; the
item's fields are those of `image_search_call` (`image_call`): `name`, `arguments`, and the
images as `output`. Every failure (bad arguments, no model to ask, a provider without image
results, an empty description, a failed search) is a failed call saying why."""

from __future__ import annotations

from typing import Any

from openscope.core.builtin_tools import BuiltinTool, BuiltinToolKind
from openscope.core.errors import OpenScopeError
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

FUNCTION_NAME = "image_search"
COORDINATE_MAX = 1000
MAX_QUERY_CHARS = 120
MAX_IMAGES = 10
DESCRIPTION = (
    "Search the web for images like an image of the conversation, or a region of it. "
    "Returns numbered images (title, image URL, the page it is on)."
)
PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "img_idx": {
            "type": "integer",
            "minimum": 0,
            "description": "Which image of the input: its index, from 0, in order.",
        },
        "bbox": {
            "type": "array",
            "description": (
                "The region to search by, [x1, y1, x2, y2] in coordinates from 0 to 1000 "
                "(left, top, right, bottom); leave it out for the whole image."
            ),
            "items": {"type": "number", "minimum": 0, "maximum": COORDINATE_MAX},
            "minItems": 4,
            "maxItems": 4,
        },
    },
    "required": ["img_idx"],
}
WHOLE_IMAGE = "Describe this image in a few words for an image search; answer with the words only."
REGION = (
    "Describe the region ({x1},{y1})-({x2},{y2}) of this image, in coordinates from 0 to "
    "1000, in a few words for an image search; answer with the words only."
)
Box = tuple[float, float, float, float]
# Quotes a model may put around its answer (typographic ones too).
QUOTES = "\"'`\u201c\u201d\u2018\u2019"


class ImageSearchRunner:
    """Runs `image_search` calls: the request's model describes the image region, the
    provider's image results are searched for the description. It shares the provider
    with `WebSearchRunner`, which closes it."""

    def __init__(self, provider: SearchProvider) -> None:
        self.provider = provider

    @property
    def kind(self) -> BuiltinToolKind:
        return BuiltinToolKind.IMAGE_SEARCH

    def function(self, spec: BuiltinTool) -> ToolSpec:
        return ToolSpec(FUNCTION_NAME, DESCRIPTION, PARAMETERS)

    async def run(
        self, spec: BuiltinTool, arguments: dict[str, Any], context: ToolContext
    ) -> ToolOutcome:
        shown = shown_arguments(arguments)
        index = _image_index(arguments.get("img_idx"), len(context.images))
        if isinstance(index, str):
            return failed_call(FUNCTION_NAME, shown, index)
        box = _box(arguments.get("bbox"))
        if isinstance(box, str):
            return failed_call(FUNCTION_NAME, shown, box)
        provider = image_provider(self.provider)
        if isinstance(provider, str):
            return failed_call(FUNCTION_NAME, shown, provider)
        if context.describe is None:
            reason = "Image search is not available: no model is at hand to look at the image."
            return failed_call(FUNCTION_NAME, shown, reason)
        instruction = WHOLE_IMAGE if box is None else REGION.format(**_corners(box))
        try:
            answer = await context.describe(context.images[index], instruction)
        except OpenScopeError as error:
            return failed_call(
                FUNCTION_NAME, shown, f"The image could not be described: {error.message}"
            )
        query = search_words(answer)
        if not query:
            reason = "The image search has nothing to search for: the image's description is empty."
            return failed_call(FUNCTION_NAME, shown, reason)
        try:
            found = await provider.search_images(SearchQuery(query, max_results=MAX_IMAGES))
        except SearchFailed as failure:
            return failed_call(FUNCTION_NAME, shown, f"The image search failed: {failure.message}")
        images = merge_images([found], MAX_IMAGES)
        region = "" if box is None else " (region {x1},{y1}-{x2},{y2})".format(**_corners(box))
        head = f'Searched the web for images of "{query}", as input image {index}{region} shows.'
        return ToolOutcome(
            for_model=head + "\n\n" + format_images_for_model(images),
            output=call_fields(FUNCTION_NAME, shown, listed(images)),
        )

    def recall(self, result: BuiltinResultPart) -> str:
        """An earlier image search as the model reads it again: the images it listed (title
        and URL), or why it failed."""
        return recall_images(result)


def search_words(answer: str) -> str:
    """The model's description as a search query: its first line of words, without the
    quotes or the full stop a model may add, at most `MAX_QUERY_CHARS` (cut between
    words where it can be)."""
    line = next((line for line in answer.splitlines() if line.strip()), "")
    words = " ".join(line.split()).strip(QUOTES).rstrip(".。").strip()
    if len(words) <= MAX_QUERY_CHARS:
        return words
    cut = words[:MAX_QUERY_CHARS]
    space = cut.rfind(" ")
    return cut[:space] if space > 0 else cut


def _image_index(value: Any, count: int) -> int | str:
    """The input image the call names, or why it names none (told to the model)."""
    if count == 0:
        return "The input holds no image to search by."
    if not isinstance(value, int) or isinstance(value, bool):
        return "The image_search call needs `img_idx`: the index of an input image, from 0."
    if not 0 <= value < count:
        images = "1 image" if count == 1 else f"{count} images"
        return (
            f"The image_search `img_idx` {value} is out of range: the input has {images}, "
            f"indexed from 0."
        )
    return value


def _box(value: Any) -> Box | str | None:
    """The call's region (None: the whole image), or why it is not one."""
    if value is None:
        return None
    wrong = (
        "The image_search `bbox` must be four numbers [x1, y1, x2, y2] from 0 to "
        f"{COORDINATE_MAX}, with x1 < x2 and y1 < y2."
    )
    if not isinstance(value, list) or len(value) != 4:
        return wrong
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
        return wrong
    x1, y1, x2, y2 = (float(v) for v in value)
    if not all(0 <= v <= COORDINATE_MAX for v in (x1, y1, x2, y2)) or x1 >= x2 or y1 >= y2:
        return wrong
    return (x1, y1, x2, y2)


def _corners(box: Box) -> dict[str, str]:
    return {name: f"{v:g}" for name, v in zip(("x1", "y1", "x2", "y2"), box, strict=True)}
