"""Explicit context-cache markers: which ones count, and the conversation up to each.

Model Studio counts at most four markers, the last four in the request (BEHAVIOUR.md,
"Context cache"); a backend caches the prompt prefix that ends at a marker's content part.
Tool definitions come before the messages, and a marker on one covers the tools: chat
templates render them with the system prompt, so that prefix ends after the system message.
"""

from __future__ import annotations

from dataclasses import replace

from openscope.core.messages import CacheControl, Message, Part, Role, ToolResultPart
from openscope.core.request import ToolSpec

MAX_MARKERS = 4
TOOLS = -1  # the message index of a marker on a tool definition

Marker = tuple[int, int]  # (message index or TOOLS, part or tool index)


def part_marker(part: Part) -> CacheControl | None:
    """A content part's cache marker. A tool result's is its own, or the one on a block of
    its content (chat marks a tool message's content blocks, Anthropic the result)."""
    own: CacheControl | None = getattr(part, "cache_control", None)
    if own is not None or not isinstance(part, ToolResultPart):
        return own
    return next((p.cache_control for p in reversed(part.content) if p.cache_control), None)


def cache_markers(
    messages: tuple[Message, ...], tools: tuple[ToolSpec, ...] = ()
) -> tuple[Marker, ...]:
    """The markers that count, in request order."""
    found = [(TOOLS, t) for t, tool in enumerate(tools) if tool.cache_control is not None]
    found += [
        (m, p)
        for m, message in enumerate(messages)
        for p, part in enumerate(message.parts)
        if part_marker(part) is not None
    ]
    return tuple(found[-MAX_MARKERS:])


def through_marker(messages: tuple[Message, ...], marker: Marker) -> tuple[Message, ...]:
    """The conversation up to and including the marked content part."""
    m, p = marker
    if m == TOOLS:
        leading_system = bool(messages) and messages[0].role is Role.SYSTEM
        return messages[:1] if leading_system else ()
    return (*messages[:m], replace(messages[m], parts=messages[m].parts[: p + 1]))
