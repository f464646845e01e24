"""Core events -> the Responses stream. Texts, reasoning and function calls are streamed
here; built-in tool items by `builtin_stream`, which numbers its events from the same
count and keeps the file search results a text's `file_citation` annotations cite."""

from __future__ import annotations

from typing import Any, assert_never

from openscope.core.events import (
    BUILTIN_KINDS,
    AudioDelta,
    ChoiceEnd,
    Event,
    LimitsChecked,
    PartDelta,
    PartEnd,
    PartKind,
    PartStart,
    TurnRecorded,
    UsageReport,
)
from openscope.core.messages import Message, Role, ToolCallPart
from openscope.core.state import Item, StoredResponse
from openscope.core.turns import output_item_id_for
from openscope.protocols.openai_responses.builtin_stream import BuiltinItemStream
from openscope.protocols.openai_responses.citations import CitationScanner
from openscope.protocols.openai_responses.encode import response_body
from openscope.protocols.openai_responses.items import assistant_message, item_body, output_text
from openscope.protocols.openai_responses.stream_state import EventSequence, OpenItem, StreamEvent


class ResponseStreamEncoder:
    """Core events -> Responses stream events, each with a strictly increasing
    `sequence_number`. Only choice 0 exists in this API."""

    def __init__(self, skeleton: StoredResponse) -> None:
        self._skeleton = skeleton  # the response as known before generating
        self._events = EventSequence()
        self._items: dict[int, OpenItem] = {}  # by part index
        self._outputs = 0  # output items opened so far
        self._builtin = BuiltinItemStream(self._events)

    def _event(self, type_: str, **fields: Any) -> StreamEvent:
        return self._events.event(type_, **fields)

    def start(self) -> list[StreamEvent]:
        response = response_body(self._skeleton, status="in_progress")
        return [
            self._event("response.created", response=response),
            self._event("response.in_progress", response=response),
        ]

    def encode(self, event: Event) -> list[StreamEvent]:
        match event:
            case UsageReport() | ChoiceEnd() | TurnRecorded() | LimitsChecked():
                return []  # usage and the outcome arrive with the closing event
            case PartStart() | PartDelta() | PartEnd() if event.choice != 0:
                return []  # this API has one choice
            case PartStart():
                return self._open(event)
            case PartDelta():
                item = self._items[event.part]
                item.chunks.append(event.text)
                if item.kind in BUILTIN_KINDS:
                    return self._builtin.delta(item, event.text)
                return [self._delta(item, event.text), *self._annotations(item, event.text)]
            case PartEnd():
                return self._close(self._items[event.part])
            case AudioDelta():
                # This API asks for no audio (its decoder sets no output modality but
                # text), so no backend sends any: nothing is lost here.
                return []
            case _:
                assert_never(event)

    def _open(self, event: PartStart) -> list[StreamEvent]:
        if event.kind is PartKind.BUILTIN_RESULT:
            self._items[event.part] = self._builtin.open_result(event)
            return []
        item_id = output_item_id_for(event.kind, self._skeleton.id, event.part)
        item = OpenItem(self._outputs, event.kind, item_id, event.tool_name, event.tool_call_id)
        self._outputs += 1
        self._items[event.part] = item
        if event.kind is PartKind.BUILTIN_CALL:
            return self._builtin.open_call(item)
        where = {"item_id": item_id, "output_index": item.output_index}
        if event.kind is PartKind.TEXT:
            if self._builtin.cited:
                item.citations = CitationScanner(self._builtin.cited)
            body = assistant_message(item_id, None, "in_progress")
            return [
                self._event(
                    "response.output_item.added", output_index=item.output_index, item=body
                ),
                self._event(
                    "response.content_part.added", **where, content_index=0, part=output_text("")
                ),
            ]
        if event.kind is PartKind.REASONING:
            body = {"id": item_id, "type": "reasoning", "summary": []}
            return [
                self._event(
                    "response.output_item.added", output_index=item.output_index, item=body
                ),
                self._event(
                    "response.reasoning_summary_part.added",
                    **where,
                    summary_index=0,
                    part={"type": "summary_text", "text": ""},
                ),
            ]
        body = {
            "id": item_id,
            "type": "function_call",
            "status": "in_progress",
            "call_id": item.call_id,
            "name": item.name,
            "arguments": "",
        }
        return [
            self._event("response.output_item.added", output_index=item.output_index, item=body)
        ]

    def _delta(self, item: OpenItem, text: str) -> StreamEvent:
        where = {"item_id": item.item_id, "output_index": item.output_index}
        if item.kind is PartKind.TEXT:
            return self._event(
                "response.output_text.delta", **where, content_index=0, delta=text, logprobs=[]
            )
        if item.kind is PartKind.REASONING:
            return self._event(
                "response.reasoning_summary_text.delta", **where, summary_index=0, delta=text
            )
        return self._event("response.function_call_arguments.delta", **where, delta=text)

    def _annotations(self, item: OpenItem, delta: str) -> list[StreamEvent]:
        """`annotation.added` for each citation the text's newest `delta` completed."""
        if item.citations is None:
            return []
        sent = []
        for annotation in item.citations.feed(delta):
            sent.append(
                self._event(
                    "response.output_text.annotation.added",
                    item_id=item.item_id,
                    output_index=item.output_index,
                    content_index=0,
                    annotation_index=len(item.annotations),
                    annotation=annotation,
                )
            )
            item.annotations.append(annotation)
        return sent

    def _close(self, item: OpenItem) -> list[StreamEvent]:
        if item.kind in BUILTIN_KINDS:
            return self._builtin.close(item)
        text = "".join(item.chunks)
        where = {"item_id": item.item_id, "output_index": item.output_index}
        done = {"output_index": item.output_index}
        if item.kind is PartKind.TEXT:
            return [
                self._event(
                    "response.output_text.done", **where, content_index=0, text=text, logprobs=[]
                ),
                self._event(
                    "response.content_part.done",
                    **where,
                    content_index=0,
                    part=output_text(text, item.annotations),
                ),
                self._event(
                    "response.output_item.done",
                    **done,
                    item=assistant_message(item.item_id, text, "completed", item.annotations),
                ),
            ]
        if item.kind is PartKind.REASONING:
            summary = {"type": "summary_text", "text": text}
            return [
                self._event(
                    "response.reasoning_summary_text.done", **where, summary_index=0, text=text
                ),
                self._event(
                    "response.reasoning_summary_part.done", **where, summary_index=0, part=summary
                ),
                self._event(
                    "response.output_item.done",
                    **done,
                    item={"id": item.item_id, "type": "reasoning", "summary": [summary]},
                ),
            ]
        call = ToolCallPart(id=item.call_id or "", name=item.name or "", arguments=text)
        body = item_body(Item(item.item_id, Message(Role.ASSISTANT, (call,))))
        return [
            self._event(
                "response.function_call_arguments.done", **where, name=item.name, arguments=text
            ),
            self._event("response.output_item.done", **done, item=body),
        ]

    def finish(self, record: StoredResponse) -> list[StreamEvent]:
        """The closing event: completed, incomplete or failed, with the whole response."""
        kind = {
            "completed": "response.completed",
            "incomplete": "response.incomplete",
            "failed": "response.failed",
        }[str(record.status)]
        return [self._event(kind, response=response_body(record))]
