"""What the output parsers produce: the model's text cut into typed segments.

A parser turns raw model text into a flat sequence of segments; `PartAssembler` turns that
sequence into core events. A tool call is `ToolCallBegin`, any number of
`ToolCallArguments` (slices that concatenate to the call's JSON arguments text) and
`ToolCallEnd`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TextChunk:
    """Answer text."""

    text: str


@dataclass(frozen=True, slots=True)
class ReasoningChunk:
    """Reasoning text (what the model wrote inside `<think>` ... `</think>`)."""

    text: str


@dataclass(frozen=True, slots=True)
class ToolCallBegin:
    """A tool call to the function `name` starts."""

    name: str


@dataclass(frozen=True, slots=True)
class ToolCallArguments:
    """A slice of the open call's JSON arguments text."""

    text: str


@dataclass(frozen=True, slots=True)
class ToolCallEnd:
    """The open tool call is complete."""


Segment = TextChunk | ReasoningChunk | ToolCallBegin | ToolCallArguments | ToolCallEnd
