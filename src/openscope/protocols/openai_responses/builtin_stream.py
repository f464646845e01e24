"""Built-in tool items in the Responses stream: a call's item added once its arguments
are whole (a code_interpreter call's as it starts, its code streamed as the model writes
it), Model Studio's progress events (`response.<tool>_call.<step>`), an MCP item's events
in OpenAI's order, and the item done once its result is in. The file search results found
so far are kept here: the stream encoder's later texts cite them."""

from __future__ import annotations

from collections.abc import Mapping

from openscope.core.builtin_tools import BuiltinToolKind
from openscope.core.events import PartKind, PartStart
from openscope.core.mcp import McpStep
from openscope.core.messages import BuiltinCallPart, BuiltinResultPart
from openscope.protocols.openai_responses.builtin_items import builtin_call_body, call_fields
from openscope.protocols.openai_responses.citations import CitedFile, cited_files
from openscope.protocols.openai_responses.mcp_items import mcp_item_body, mcp_step
from openscope.protocols.openai_responses.stream_state import EventSequence, OpenItem, StreamEvent
from openscope.protocols.openai_responses.streamed_string import StreamedString

# Model Studio's progress events of a built-in tool's item (`response.<tool>_call.<step>`):
# the first ones once the item is added, the last (completed) just before it is done; a
# tool without a row has none (web_extractor, the image tools).
TOOL_PROGRESS: Mapping[BuiltinToolKind, tuple[str, ...]] = {
    BuiltinToolKind.WEB_SEARCH: ("in_progress", "searching", "completed"),
    BuiltinToolKind.CODE_INTERPRETER: ("in_progress", "interpreting", "completed"),
    BuiltinToolKind.FILE_SEARCH: ("in_progress", "searching", "completed"),
}


def _builtin_call(item: OpenItem) -> BuiltinCallPart:
    return BuiltinCallPart(
        item.call_id or "", BuiltinToolKind(item.name or ""), "".join(item.chunks)
    )


class BuiltinItemStream:
    """The events of one response's built-in call and result parts. A result's part
    completes its call's item: it shares the call's output index and item id."""

    def __init__(self, events: EventSequence) -> None:
        self._events = events  # the encoder's: one numbering for the whole stream
        self._calls: dict[str, OpenItem] = {}  # by call id
        self._cited: dict[int, CitedFile] = {}  # the file search results found so far

    @property
    def cited(self) -> Mapping[int, CitedFile]:
        """The file search results found so far. Live: a text's scanner made from it sees
        the results found after it."""
        return self._cited

    def open_call(self, item: OpenItem) -> list[StreamEvent]:
        """A call part starts as the output item `item`."""
        self._calls[item.call_id or ""] = item
        if item.name == BuiltinToolKind.CODE_INTERPRETER:
            return self._open_code(item)
        return []  # added once its arguments are whole (they fill the item's fields)

    def open_result(self, event: PartStart) -> OpenItem:
        """A result part starts: it streams into its call's item."""
        call = self._calls[event.tool_call_id or ""]
        return OpenItem(
            call.output_index,
            event.kind,
            call.item_id,
            event.tool_name,
            call.call_id,
            call=call,
            status=event.status,
        )

    def delta(self, item: OpenItem, text: str) -> list[StreamEvent]:
        """`text` was added to the part's chunks. Only a code_interpreter call's code
        streams; any other item is whole when its result is in."""
        if item.code is not None:
            return self._code_delta(item, item.code.feed(text))
        return []

    def close(self, item: OpenItem) -> list[StreamEvent]:
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
            added = self._events.event(
                "response.output_item.added", output_index=item.output_index, item=body
            )
            steps = TOOL_PROGRESS.get(BuiltinToolKind(item.name or ""), ())
            return [added, *(self._progress(item, step) for step in steps[:-1])]
        assert item.call is not None
        tool = BuiltinToolKind(item.name or "")
        result = BuiltinResultPart(
            item.call_id or "", tool, "".join(item.chunks), item.status or "completed"
        )
        body = builtin_call_body(item.item_id, _builtin_call(item.call), result)
        self._cited.update(cited_files(result))
        steps = TOOL_PROGRESS.get(tool, ())
        # made in the order sent: each event takes the next sequence number
        sent = [self._progress(item, steps[-1])] if steps and result.status == "completed" else []
        sent.append(
            self._events.event(
                "response.output_item.done", output_index=item.output_index, item=body
            )
        )
        return sent

    def _progress(self, item: OpenItem, step: str) -> StreamEvent:
        name = f"response.{item.name}_call.{step}"
        return self._events.event(name, output_index=item.output_index, item_id=item.item_id)

    def _open_code(self, item: OpenItem) -> list[StreamEvent]:
        """A code_interpreter call is added as it starts, its code streamed as the model
        writes it (OpenAI's `response.code_interpreter_call_code.delta` / `.done`, between
        `in_progress` and `interpreting`)."""
        item.code = StreamedString("code")
        body = builtin_call_body(item.item_id, _builtin_call(item), None) | {"code": ""}
        added = self._events.event(
            "response.output_item.added", output_index=item.output_index, item=body
        )
        return [added, self._progress(item, "in_progress")]

    def _code_delta(self, item: OpenItem, text: str) -> list[StreamEvent]:
        if not text:
            return []
        item.code_sent += text
        return [
            self._events.event(
                "response.code_interpreter_call_code.delta",
                item_id=item.item_id,
                output_index=item.output_index,
                delta=text,
            )
        ]

    def _close_code(self, item: OpenItem) -> list[StreamEvent]:
        """The code is whole: the rest of it (none when the arguments are well-formed
        JSON), its `done`, and `interpreting` while it runs."""
        code = call_fields(_builtin_call(item)).get("code")
        if not isinstance(code, str) or not code.startswith(item.code_sent):
            code = item.code_sent  # bad arguments: the call fails; the code seen stands
        sent = self._code_delta(item, code[len(item.code_sent) :])
        done = self._events.event(
            "response.code_interpreter_call_code.done",
            item_id=item.item_id,
            output_index=item.output_index,
            code=code,
        )
        return [*sent, done, self._progress(item, "interpreting")]

    def _open_mcp(self, item: OpenItem) -> list[StreamEvent]:
        """An MCP call part is whole: its item is added, in OpenAI's order. A listing is
        `in_progress` until its result; a call streams its arguments, then is
        `in_progress` until its result; an approval request is added and done at once
        (nothing follows it in this answer)."""
        call = _builtin_call(item)
        body = mcp_item_body(item.item_id, call, None)
        where = {"output_index": item.output_index, "item_id": item.item_id}
        added = self._events.event(
            "response.output_item.added", output_index=item.output_index, item=body
        )
        step = mcp_step(call)
        if step is None or step.step is McpStep.APPROVAL_REQUEST:
            done = self._events.event(
                "response.output_item.done", output_index=item.output_index, item=body
            )
            return [added, done]
        if step.step is McpStep.LIST_TOOLS:
            return [added, self._events.event("response.mcp_list_tools.in_progress", **where)]
        added["item"] = body | {"arguments": ""}
        return [
            added,
            self._events.event("response.mcp_call_arguments.delta", **where, delta=step.arguments),
            self._events.event(
                "response.mcp_call_arguments.done", **where, arguments=step.arguments
            ),
            self._events.event("response.mcp_call.in_progress", **where),
        ]

    def _close_mcp(self, item: OpenItem) -> list[StreamEvent]:
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
            self._events.event(f"response.{what}.{outcome}", **where),
            self._events.event(
                "response.output_item.done", output_index=item.output_index, item=body
            ),
        ]
