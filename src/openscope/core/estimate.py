"""A request's prompt tokens guessed from its characters, before any backend has counted
them: what the admit stage reserves, and what the meter falls back to for a call cut short
before its backend reported its usage (an upstream reports it only at the end)."""

from __future__ import annotations

import json
import math

from openscope.core.messages import (
    BuiltinCallPart,
    BuiltinResultPart,
    ImagePart,
    Part,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from openscope.core.request import GenerateRequest

CHARS_PER_TOKEN = 4
IMAGE_TOKENS = 1_000  # what an image is taken to cost before the backend has read it


def _part_chars(part: Part) -> int:
    match part:
        case TextPart() | ReasoningPart():
            return len(part.text)
        case ImagePart():
            return IMAGE_TOKENS * CHARS_PER_TOKEN
        case ToolCallPart():
            return len(part.name) + len(part.arguments)
        case ToolResultPart():
            return sum(_part_chars(p) for p in part.content)
        case BuiltinCallPart():
            return len(part.arguments)
        case BuiltinResultPart():
            return len(part.output)
    return 0


def estimated_prompt_tokens(request: GenerateRequest) -> int:
    chars = sum(_part_chars(p) for m in request.messages for p in m.parts)
    chars += sum(len(t.name) + len(json.dumps(t.parameters)) for t in request.tools)
    return math.ceil(chars / CHARS_PER_TOKEN) + 4 * len(request.messages)
