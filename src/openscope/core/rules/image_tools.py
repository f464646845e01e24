"""Rules on the image tools: `image_search` searches by an image of the request's input
(Model Studio: the input must contain an image), so a request without one is refused before
anything runs. Whether this server can run it at all is the engine's to say
(`check_features`): a Model Studio upstream runs it itself; the tool loop runs it when a
search provider with image results is configured and the route's backend sees images (the
model describes the image, the provider finds images like it)."""

from __future__ import annotations

from openscope.core.builtin_tools import BuiltinToolKind
from openscope.core.request import GenerateRequest
from openscope.core.rules.capabilities import has_images
from openscope.core.rules.fields import Field
from openscope.core.rules.refusal import Refusal
from openscope.core.rules.wording import Wording


def check_image_tools(request: GenerateRequest) -> None:
    if any(t.kind is BuiltinToolKind.IMAGE_SEARCH for t in request.builtin_tools) and not (
        has_images(request)
    ):
        raise Refusal(Wording.IMAGE_SEARCH_NEEDS_IMAGE, Field.TOOLS)
