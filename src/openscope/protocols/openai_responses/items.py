"""Core items -> Responses item JSON: a response's output items and a conversation's
items, of every kind. Built-in tool items and MCP items have their own modules
(`builtin_items`, `mcp_items`); an assistant message's `file_citation` annotations come
from `citations`. The stream encoder builds its items' JSON here too, so an item streamed
and the same item read back are one shape."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from openscope.core.builtin_tools import BuiltinToolKind
from openscope.core.messages import (
    BuiltinCallPart,
    BuiltinResultPart,
    ImagePart,
    ReasoningPart,
    Role,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from openscope.core.state import Item
from openscope.protocols.openai_responses.builtin_items import builtin_call_body
from openscope.protocols.openai_responses.citations import (
    CitedFile,
    all_cited_files,
    file_citations,
)
from openscope.protocols.openai_responses.mcp_items import approval_response_body, mcp_item_body


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
        return assistant_message(item.id, text, "completed", cited)
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


def assistant_message(
    item_id: str, text: str | None, status: str, annotations: Sequence[dict[str, Any]] = ()
) -> dict[str, Any]:
    """An assistant `message` item; `text` None while it streams (no content part yet)."""
    content = [] if text is None else [output_text(text, annotations)]
    return {
        "id": item_id,
        "type": "message",
        "status": status,
        "role": "assistant",
        "content": content,
    }


def output_text(text: str, annotations: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": list(annotations), "logprobs": []}
