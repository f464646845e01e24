"""Explicit context-cache markers: which ones count, and the conversation up to each.

Model Studio counts at most four markers, the last four in the conversation (BEHAVIOUR.md,
"Context cache"); a backend caches the prompt prefix that ends at a marker's content part.
"""

from __future__ import annotations

from dataclasses import replace

from openscope.core.messages import Message

MAX_MARKERS = 4


def cache_markers(messages: tuple[Message, ...]) -> tuple[tuple[int, int], ...]:
    """(message index, part index) of the markers that count, in conversation order."""
    found = [
        (m, p)
        for m, message in enumerate(messages)
        for p, part in enumerate(message.parts)
        if getattr(part, "cache_control", None) is not None
    ]
    return tuple(found[-MAX_MARKERS:])


def through_marker(messages: tuple[Message, ...], marker: tuple[int, int]) -> tuple[Message, ...]:
    """The conversation up to and including the marked content part."""
    m, p = marker
    return (*messages[:m], replace(messages[m], parts=messages[m].parts[: p + 1]))
