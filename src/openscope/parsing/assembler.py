"""Segments -> core events for one choice.

Consecutive text (or reasoning) segments extend one part; a change of kind closes the open
part and opens the next; every tool call is a part of its own. Part indices count up from 0.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from openscope.core.events import Event, PartDelta, PartEnd, PartKind, PartStart
from openscope.parsing.segments import (
    ReasoningChunk,
    Segment,
    TextChunk,
    ToolCallArguments,
    ToolCallBegin,
    ToolCallEnd,
)


class PartAssembler:
    def __init__(self, choice: int, new_call_id: Callable[[], str]) -> None:
        self._choice = choice
        self._new_call_id = new_call_id
        self._open: PartKind | None = None
        self._part = -1  # index of the open (or last) part
        self._tool_calls = 0

    @property
    def tool_calls(self) -> int:
        """How many tool-call parts have been closed so far."""
        return self._tool_calls

    def feed(self, segments: Iterable[Segment]) -> list[Event]:
        out: list[Event] = []
        for segment in segments:
            if isinstance(segment, TextChunk | ReasoningChunk):
                if not segment.text:
                    continue
                kind = PartKind.TEXT if isinstance(segment, TextChunk) else PartKind.REASONING
                if self._open is not kind:
                    self._close(out)
                    self._start(out, PartStart(self._choice, self._part + 1, kind))
                out.append(PartDelta(self._choice, self._part, segment.text))
            elif isinstance(segment, ToolCallBegin):
                self._close(out)
                start = PartStart(
                    self._choice,
                    self._part + 1,
                    PartKind.TOOL_CALL,
                    tool_call_id=self._new_call_id(),
                    tool_name=segment.name,
                )
                self._start(out, start)
            elif isinstance(segment, ToolCallArguments):
                # Arguments outside a call cannot come from a well-behaved parser: dropped.
                if segment.text and self._open is PartKind.TOOL_CALL:
                    out.append(PartDelta(self._choice, self._part, segment.text))
            elif isinstance(segment, ToolCallEnd) and self._open is PartKind.TOOL_CALL:
                self._close(out)
        return out

    def finish(self) -> list[Event]:
        """Close the open part, if any (a tool call left open counts as a call)."""
        out: list[Event] = []
        self._close(out)
        return out

    def _start(self, out: list[Event], start: PartStart) -> None:
        self._part = start.part
        self._open = start.kind
        out.append(start)

    def _close(self, out: list[Event]) -> None:
        if self._open is None:
            return
        if self._open is PartKind.TOOL_CALL:
            self._tool_calls += 1
        out.append(PartEnd(self._choice, self._part))
        self._open = None
