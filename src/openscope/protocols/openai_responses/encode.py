"""Core records and events -> Responses and Conversations JSON, and the Responses stream."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, assert_never

from openscope.core.builtin_tools import BuiltinTool, BuiltinToolKind, Mcp
from openscope.core.codec import builtin_tool_to_dict
from openscope.core.errors import OpenScopeError, error_code
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
    Usage,
    UsageReport,
)
from openscope.core.mcp import McpStep
from openscope.core.messages import (
    BuiltinCallPart,
    BuiltinResultPart,
    ImagePart,
    Message,
    ReasoningPart,
    Role,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from openscope.core.request import ResponseFormat, ResponseFormatType, ToolChoice, ToolChoiceMode
from openscope.core.state import Conversation, Item, Page, StoredResponse
from openscope.core.turns import output_item_id_for
from openscope.protocols.openai_responses import names
from openscope.protocols.openai_responses.builtin_items import builtin_call_body, call_fields
from openscope.protocols.openai_responses.citations import (
    CitationScanner,
    CitedFile,
    all_cited_files,
    cited_files,
    file_citations,
)
from openscope.protocols.openai_responses.mcp_items import (
    approval_response_body,
    mcp_item_body,
    mcp_step,
    mcp_tool_body,
)
from openscope.protocols.openai_responses.streamed_string import StreamedString
from openscope.protocols.statuses import HTTP_STATUS


def error_status(error: OpenScopeError) -> int:
    return HTTP_STATUS[error.kind]


def error_body(error: OpenScopeError, request_id: str) -> dict[str, Any]:
    """The Responses API's flat error shape (BEHAVIOUR.md)."""
    return {"code": error_code(error), "message": names.message(error), "request_id": request_id}


# -- items ------------------------------------------------------------------------------


def _input_content(part: TextPart | ImagePart) -> dict[str, Any]:
    if isinstance(part, TextPart):
        return {"type": "input_text", "text": part.text}
    return {"type": "input_image", "image_url": part.url, "detail": part.detail or "auto"}


def item_body(item: Item, files: Mapping[int, CitedFile] | None = None) -> dict[str, Any]:
    """One item's JSON. `files`: the file search results its text may cite (an assistant
    message's `file_citation` annotations), by the number they are cited by."""
    message = item.message
    parts = message.parts
    first = parts[0] if parts else None
    if isinstance(first, ToolCallPart):
        return {
            "id": item.id,
            "type": "function_call",
            "status": "completed",
            "call_id": first.id,
            "name": first.name,
            "arguments": first.arguments,
        }
    if isinstance(first, ToolResultPart):
        return {
            "id": item.id,
            "type": "function_call_output",
            "status": "completed",
            "call_id": first.tool_call_id,
            "output": first.text,
        }
    if isinstance(first, BuiltinCallPart):
        result = next((p for p in parts if isinstance(p, BuiltinResultPart)), None)
        return _call_body(item.id, first, result)
    if isinstance(first, BuiltinResultPart) and first.tool is BuiltinToolKind.MCP:
        approval = approval_response_body(item.id, first)
        if approval is not None:
            return approval
    if isinstance(first, ReasoningPart):
        return {
            "id": item.id,
            "type": "reasoning",
            "summary": [{"type": "summary_text", "text": first.text}],
        }
    if message.role is Role.ASSISTANT:
        text = message.text
        cited = file_citations(text, files) if files else []
        return _assistant_message(item.id, text, "completed", cited)
    role = "system" if message.role is Role.SYSTEM else str(message.role)
    return {
        "id": item.id,
        "type": "message",
        "status": "completed",
        "role": role,
        "content": [_input_content(p) for p in parts if isinstance(p, TextPart | ImagePart)],
    }


def item_bodies(items: Sequence[Item]) -> list[dict[str, Any]]:
    """The JSON of `items`, whose messages' text may cite the file search results among
    them (a response's output, a page of a conversation: numbered on, so in any order)."""
    files = all_cited_files(
        part for i in items for part in i.message.parts if isinstance(part, BuiltinResultPart)
    )
    return [item_body(i, files) for i in items]


def _call_body(
    item_id: str, call: BuiltinCallPart, result: BuiltinResultPart | None
) -> dict[str, Any]:
    if call.tool is BuiltinToolKind.MCP:
        return mcp_item_body(item_id, call, result)
    return builtin_call_body(item_id, call, result)


def _assistant_message(
    item_id: str, text: str | None, status: str, annotations: Sequence[dict[str, Any]] = ()
) -> dict[str, Any]:
    content = [] if text is None else [_output_text(text, annotations)]
    return {
        "id": item_id,
        "type": "message",
        "status": status,
        "role": "assistant",
        "content": content,
    }


def _output_text(text: str, annotations: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": list(annotations), "logprobs": []}


def page_body(page: Page) -> dict[str, Any]:
    data = item_bodies(page.items)
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": page.has_more,
    }


def items_body(items: tuple[Item, ...]) -> dict[str, Any]:
    data = item_bodies(items)
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": False,
    }


def conversation_body(conversation: Conversation) -> dict[str, Any]:
    return {
        "id": conversation.id,
        "object": "conversation",
        "created_at": conversation.created_at,
        "metadata": conversation.metadata,
    }


# -- responses --------------------------------------------------------------------------


def usage_body(usage: Usage, items: Sequence[Item] = ()) -> dict[str, Any]:
    """The usage, with Model Studio's `x_tools` (completed runs per built-in tool:
    `{"web_search": {"count": 1}}`) when built-in tools ran among `items`, and without it
    when none did."""
    body: dict[str, Any] = {
        "input_tokens": usage.input_tokens,
        "input_tokens_details": {"cached_tokens": usage.cached_tokens},
        "output_tokens": usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "total_tokens": usage.total_tokens,
    }
    # A call counts once its tool ran to the end: not one the loop refused to run (cut by
    # the length limit, bad arguments, no rounds left), nor one that failed. Model Studio
    # counts no MCP calls (builtin-tools.md §3.0).
    runs = Counter(
        str(part.tool)
        for item in items
        for part in item.message.parts
        if isinstance(part, BuiltinResultPart)
        and part.status == "completed"
        and part.tool is not BuiltinToolKind.MCP
    )
    if runs:
        body["x_tools"] = {tool: {"count": count} for tool, count in sorted(runs.items())}
    return body


def _builtin_tool_body(tool: BuiltinTool) -> dict[str, Any]:
    """A built-in tool as the request named it: as the turn keeps it (an MCP server's
    headers are not kept), less what Responses does not take (chat's search options) and
    what was not set."""
    if isinstance(tool, Mcp):
        return mcp_tool_body(tool)
    kept = builtin_tool_to_dict(tool)
    return {name: value for name, value in kept.items() if name != "options" and value is not None}


def _tool_choice_body(choice: ToolChoice) -> Any:
    if choice.allowed is not None:
        return {
            "type": "allowed_tools",
            "mode": "required" if choice.mode is ToolChoiceMode.REQUIRED else "auto",
            "tools": [{"type": "function", "name": name} for name in choice.allowed],
        }
    if choice.mode is ToolChoiceMode.NAMED:
        return {"type": "function", "name": choice.name}
    return str(choice.mode)


def _format_body(response_format: ResponseFormat) -> dict[str, Any]:
    if response_format.type is ResponseFormatType.JSON_SCHEMA:
        return {
            "type": "json_schema",
            "name": response_format.name,
            "schema": response_format.schema,
            "strict": response_format.strict,
        }
    return {"type": str(response_format.type)}


def response_body(record: StoredResponse, *, status: str | None = None) -> dict[str, Any]:
    settings = record.settings
    done = status is None
    return {
        "id": record.id,
        "object": "response",
        "created_at": record.created_at,
        "status": status or str(record.status),
        "background": False,
        "error": (
            {"code": record.error.code, "message": record.error.message} if record.error else None
        ),
        "incomplete_details": (
            {"reason": record.incomplete_reason} if record.incomplete_reason else None
        ),
        "instructions": settings.instructions,
        "max_output_tokens": settings.max_output_tokens,
        "model": record.model,
        "output": item_bodies(record.output_items) if done else [],
        "parallel_tool_calls": settings.parallel_tool_calls,
        "previous_response_id": record.previous_response_id,
        "reasoning": {"effort": settings.reasoning_effort, "summary": None},
        "store": settings.store,
        "temperature": settings.temperature,
        "text": {"format": _format_body(settings.response_format)},
        "tool_choice": _tool_choice_body(settings.tool_choice),
        "tools": [
            *(
                {
                    "type": "function",
                    "name": t.name,
                    "description": t.description,
                    "parameters": t.parameters,
                    "strict": t.strict,
                }
                for t in settings.tools
            ),
            *(_builtin_tool_body(t) for t in settings.builtin_tools),
        ],
        "top_p": settings.top_p,
        "truncation": "disabled",
        "usage": usage_body(record.usage, record.output_items) if done else None,
        "metadata": settings.metadata,
        "conversation": {"id": record.conversation_id} if record.conversation_id else None,
    }


def deleted_body(object_: str, id_: str) -> dict[str, Any]:
    return {"id": id_, "object": object_, "deleted": True}


# -- stream -----------------------------------------------------------------------------


def _builtin_call(item: _OpenItem) -> BuiltinCallPart:
    return BuiltinCallPart(
        item.call_id or "", BuiltinToolKind(item.name or ""), "".join(item.chunks)
    )


@dataclass(slots=True)
class _OpenItem:
    output_index: int
    kind: PartKind
    item_id: str
    name: str | None = None
    call_id: str | None = None
    chunks: list[str] = field(default_factory=list)
    call: _OpenItem | None = None  # a built-in result's call, whose item it completes
    status: str | None = None  # a built-in result's, from its PartStart
    code: StreamedString | None = None  # a code_interpreter call's code, as it streams
    code_sent: str = ""  # the code its `_code.delta` events gave so far
    citations: CitationScanner | None = None  # a text's, once file search results are in
    annotations: list[dict[str, Any]] = field(default_factory=list)  # the text's, so far


StreamEvent = dict[str, Any]


# Model Studio's progress events of a built-in tool's item (`response.<tool>_call.<step>`):
# the first ones once the item is added, the last (completed) just before it is done; a
# tool without a row has none (web_extractor, the image tools).
TOOL_PROGRESS: dict[BuiltinToolKind, tuple[str, ...]] = {
    BuiltinToolKind.WEB_SEARCH: ("in_progress", "searching", "completed"),
    BuiltinToolKind.CODE_INTERPRETER: ("in_progress", "interpreting", "completed"),
    BuiltinToolKind.FILE_SEARCH: ("in_progress", "searching", "completed"),
}


class ResponseStreamEncoder:
    """Core events -> Responses stream events, each with a strictly increasing
    `sequence_number`. Only choice 0 exists in this API."""

    def __init__(self, skeleton: StoredResponse) -> None:
        self._skeleton = skeleton  # the response as known before generating
        self._sequence = 0
        self._items: dict[int, _OpenItem] = {}  # by part index
        self._outputs = 0  # output items opened so far
        self._builtin_calls: dict[str, _OpenItem] = {}  # by call id
        self._cited: dict[int, CitedFile] = {}  # the file search results found so far

    def _event(self, type_: str, **fields: Any) -> StreamEvent:
        event = {"type": type_, "sequence_number": self._sequence, **fields}
        self._sequence += 1
        return event

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
                if item.code is not None:
                    return self._code_delta(item, item.code.feed(event.text))
                if item.kind in BUILTIN_KINDS:
                    return []  # the item is whole when its result is in
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
            call = self._builtin_calls[event.tool_call_id or ""]
            self._items[event.part] = _OpenItem(
                call.output_index,
                event.kind,
                call.item_id,
                event.tool_name,
                call.call_id,
                call=call,
                status=event.status,
            )
            return []
        item_id = output_item_id_for(event.kind, self._skeleton.id, event.part)
        item = _OpenItem(self._outputs, event.kind, item_id, event.tool_name, event.tool_call_id)
        self._outputs += 1
        self._items[event.part] = item
        if event.kind is PartKind.BUILTIN_CALL:
            self._builtin_calls[event.tool_call_id or ""] = item
            if item.name == BuiltinToolKind.CODE_INTERPRETER:
                return self._open_code(item)
            return []  # added once its arguments are whole (they fill the item's fields)
        where = {"item_id": item_id, "output_index": item.output_index}
        if event.kind is PartKind.TEXT:
            if self._cited:
                item.citations = CitationScanner(self._cited)
            body = _assistant_message(item_id, None, "in_progress")
            return [
                self._event(
                    "response.output_item.added", output_index=item.output_index, item=body
                ),
                self._event(
                    "response.content_part.added", **where, content_index=0, part=_output_text("")
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

    def _delta(self, item: _OpenItem, text: str) -> StreamEvent:
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

    def _annotations(self, item: _OpenItem, delta: str) -> list[StreamEvent]:
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

    def _progress(self, item: _OpenItem, step: str) -> StreamEvent:
        name = f"response.{item.name}_call.{step}"
        return self._event(name, output_index=item.output_index, item_id=item.item_id)

    def _open_code(self, item: _OpenItem) -> list[StreamEvent]:
        """A code_interpreter call is added as it starts, its code streamed as the model
        writes it (OpenAI's `response.code_interpreter_call_code.delta` / `.done`, between
        `in_progress` and `interpreting`)."""
        item.code = StreamedString("code")
        body = builtin_call_body(item.item_id, _builtin_call(item), None) | {"code": ""}
        added = self._event("response.output_item.added", output_index=item.output_index, item=body)
        return [added, self._progress(item, "in_progress")]

    def _code_delta(self, item: _OpenItem, text: str) -> list[StreamEvent]:
        if not text:
            return []
        item.code_sent += text
        return [
            self._event(
                "response.code_interpreter_call_code.delta",
                item_id=item.item_id,
                output_index=item.output_index,
                delta=text,
            )
        ]

    def _close_code(self, item: _OpenItem) -> list[StreamEvent]:
        """The code is whole: the rest of it (none when the arguments are well-formed
        JSON), its `done`, and `interpreting` while it runs."""
        code = call_fields(_builtin_call(item)).get("code")
        if not isinstance(code, str) or not code.startswith(item.code_sent):
            code = item.code_sent  # bad arguments: the call fails; the code seen stands
        sent = self._code_delta(item, code[len(item.code_sent) :])
        done = self._event(
            "response.code_interpreter_call_code.done",
            item_id=item.item_id,
            output_index=item.output_index,
            code=code,
        )
        return [*sent, done, self._progress(item, "interpreting")]

    def _close(self, item: _OpenItem) -> list[StreamEvent]:
        if item.code is not None:
            return self._close_code(item)
        if item.kind is PartKind.BUILTIN_CALL and item.name == BuiltinToolKind.MCP:
            return self._open_mcp(item)
        if item.kind is PartKind.BUILTIN_RESULT and item.name == BuiltinToolKind.MCP:
            return self._close_mcp(item)
        if item.kind is PartKind.BUILTIN_CALL:
            # Added now, with the fields its arguments give (web_search's action.query, as
            # in Model Studio's `added` item); done once its result is in.
            body = builtin_call_body(item.item_id, _builtin_call(item), None)
            added = self._event(
                "response.output_item.added", output_index=item.output_index, item=body
            )
            steps = TOOL_PROGRESS.get(BuiltinToolKind(item.name or ""), ())
            return [added, *(self._progress(item, step) for step in steps[:-1])]
        if item.kind is PartKind.BUILTIN_RESULT:
            assert item.call is not None
            tool = BuiltinToolKind(item.name or "")
            result = BuiltinResultPart(
                item.call_id or "", tool, "".join(item.chunks), item.status or "completed"
            )
            body = builtin_call_body(item.item_id, _builtin_call(item.call), result)
            self._cited.update(cited_files(result))
            steps = TOOL_PROGRESS.get(tool, ())
            # made in the order sent: each event takes the next sequence number
            sent = (
                [self._progress(item, steps[-1])] if steps and result.status == "completed" else []
            )
            sent.append(
                self._event("response.output_item.done", output_index=item.output_index, item=body)
            )
            return sent
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
                    part=_output_text(text, item.annotations),
                ),
                self._event(
                    "response.output_item.done",
                    **done,
                    item=_assistant_message(item.item_id, text, "completed", item.annotations),
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

    def _open_mcp(self, item: _OpenItem) -> list[StreamEvent]:
        """An MCP call part is whole: its item is added, in OpenAI's order. A listing is
        `in_progress` until its result; a call streams its arguments, then is
        `in_progress` until its result; an approval request is added and done at once
        (nothing follows it in this answer)."""
        call = _builtin_call(item)
        body = mcp_item_body(item.item_id, call, None)
        where = {"output_index": item.output_index, "item_id": item.item_id}
        added = self._event("response.output_item.added", output_index=item.output_index, item=body)
        step = mcp_step(call)
        if step is None or step.step is McpStep.APPROVAL_REQUEST:
            done = self._event(
                "response.output_item.done", output_index=item.output_index, item=body
            )
            return [added, done]
        if step.step is McpStep.LIST_TOOLS:
            return [added, self._event("response.mcp_list_tools.in_progress", **where)]
        added["item"] = body | {"arguments": ""}
        return [
            added,
            self._event("response.mcp_call_arguments.delta", **where, delta=step.arguments),
            self._event("response.mcp_call_arguments.done", **where, arguments=step.arguments),
            self._event("response.mcp_call.in_progress", **where),
        ]

    def _close_mcp(self, item: _OpenItem) -> list[StreamEvent]:
        assert item.call is not None
        call = _builtin_call(item.call)
        result = BuiltinResultPart(
            item.call_id or "",
            BuiltinToolKind.MCP,
            "".join(item.chunks),
            item.status or "completed",
        )
        body = mcp_item_body(item.item_id, call, result)
        step = mcp_step(call)
        what = "mcp_list_tools" if step and step.step is McpStep.LIST_TOOLS else "mcp_call"
        outcome = "completed" if result.status == "completed" else "failed"
        where = {"output_index": item.output_index, "item_id": item.item_id}
        return [
            self._event(f"response.{what}.{outcome}", **where),
            self._event("response.output_item.done", output_index=item.output_index, item=body),
        ]

    def finish(self, record: StoredResponse) -> list[StreamEvent]:
        """The closing event: completed, incomplete or failed, with the whole response."""
        kind = {
            "completed": "response.completed",
            "incomplete": "response.incomplete",
            "failed": "response.failed",
        }[str(record.status)]
        return [self._event(kind, response=response_body(record))]
