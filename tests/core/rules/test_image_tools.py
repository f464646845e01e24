"""image_search needs an image in the request's input (Model Studio's rule), refused with the
tools named; web_search_image searches by text and needs none."""

from __future__ import annotations

import pytest

from openscope.core.builtin_tools import BuiltinTool, BuiltinToolKind, ImageSearch, WebSearch
from openscope.core.messages import ImagePart, Message, Role, TextPart
from openscope.core.request import GenerateRequest
from openscope.core.rules import Field, Refusal, Wording
from openscope.core.rules.image_tools import check_image_tools

TEXT = Message(Role.USER, (TextPart("find pictures like this"),))
PICTURE = Message(Role.USER, (TextPart("like this"), ImagePart("https://img.example.com/q.jpg")))


def request(*messages: Message, tools: tuple[BuiltinTool, ...]) -> GenerateRequest:
    return GenerateRequest(model="m", messages=messages, builtin_tools=tools)


def test_image_search_without_an_image_is_refused_naming_the_tools() -> None:
    with pytest.raises(Refusal) as caught:
        check_image_tools(
            request(TEXT, tools=(WebSearch(), ImageSearch(BuiltinToolKind.IMAGE_SEARCH)))
        )
    assert (caught.value.wording, caught.value.field) == (
        Wording.IMAGE_SEARCH_NEEDS_IMAGE,
        Field.TOOLS,
    )
    assert caught.value.message == "The built-in tool image_search needs an image in messages."


def test_image_search_with_an_image_passes() -> None:
    check_image_tools(request(TEXT, PICTURE, tools=(ImageSearch(BuiltinToolKind.IMAGE_SEARCH),)))


def test_web_search_image_needs_no_image() -> None:
    check_image_tools(request(TEXT, tools=(ImageSearch(),)))
