"""What the Responses stream encoder keeps while it streams, shared by the encoder
(`stream`) and its built-in tool items (`builtin_stream`): each output item still open,
and the events' sequence numbers, which both number from one count."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from openscope.core.events import PartKind
from openscope.protocols.openai_responses.citations import CitationScanner
from openscope.protocols.openai_responses.streamed_string import StreamedString

StreamEvent = dict[str, Any]


@dataclass(slots=True)
class OpenItem:
    output_index: int
    kind: PartKind
    item_id: str
    name: str | None = None
    call_id: str | None = None
    chunks: list[str] = field(default_factory=list)
    call: OpenItem | None = None  # a built-in result's call, whose item it completes
    status: str | None = None  # a built-in result's, from its PartStart
    code: StreamedString | None = None  # a code_interpreter call's code, as it streams
    code_sent: str = ""  # the code its `_code.delta` events gave so far
    citations: CitationScanner | None = None  # a text's, once file search results are in
    annotations: list[dict[str, Any]] = field(default_factory=list)  # the text's, so far


class EventSequence:
    """Makes the stream's events, each with the next `sequence_number`: an event is
    numbered when it is made, so events must be made in the order they are sent."""

    def __init__(self) -> None:
        self._next = 0

    def event(self, type_: str, **fields: Any) -> StreamEvent:
        event = {"type": type_, "sequence_number": self._next, **fields}
        self._next += 1
        return event
