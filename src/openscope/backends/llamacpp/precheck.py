"""A cheap lower bound on a prompt's length, checked before any template is rendered.

Every token stands for at most `max_piece_bytes` bytes of text, so a prompt whose text
alone has more characters than `(limit - 1) * max_piece_bytes` cannot fit in `limit`
tokens, however it is tokenized. Refusing such a request up front keeps a multi-megabyte
prompt from holding a prep worker for the time it takes to render and tokenize it.
"""

from __future__ import annotations

import orjson

from openscope.core.messages import ReasoningPart, TextPart, ToolCallPart, ToolResultPart
from openscope.core.request import GenerateRequest


def prompt_chars(request: GenerateRequest) -> int:
    """Characters of text the rendered prompt holds at least: every message's text,
    reasoning and tool traffic, and the tool definitions (which templates render too)."""
    total = 0
    for message in request.messages:
        for part in message.parts:
            if isinstance(part, TextPart | ReasoningPart):
                total += len(part.text)
            elif isinstance(part, ToolCallPart):
                total += len(part.name) + len(part.arguments)
            elif isinstance(part, ToolResultPart):
                total += len(part.text)
    for tool in request.tools:
        total += len(tool.name) + len(tool.description or "")
        total += len(orjson.dumps(tool.parameters))
    return total


def certainly_too_long(request: GenerateRequest, *, limit: int, max_piece_bytes: int) -> bool:
    """True when the prompt cannot fit in fewer than `limit` tokens."""
    return prompt_chars(request) > (limit - 1) * max_piece_bytes
