"""Core records -> Responses and Conversations JSON: a response, its errors, a
conversation and its item lists. Items' JSON is built in `items`; the stream, from the
same records and events, in `stream`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from openscope.core.builtin_tools import BuiltinTool, BuiltinToolKind, Mcp
from openscope.core.codec import builtin_tool_to_dict
from openscope.core.errors import OpenScopeError, error_code
from openscope.core.events import Usage
from openscope.core.messages import BuiltinResultPart
from openscope.core.request import ResponseFormat, ResponseFormatType, ToolChoice, ToolChoiceMode
from openscope.core.state import Conversation, Item, Page, StoredResponse
from openscope.protocols.openai_responses import names
from openscope.protocols.openai_responses.items import item_bodies
from openscope.protocols.openai_responses.mcp_items import mcp_tool_body
from openscope.protocols.statuses import HTTP_STATUS


def error_status(error: OpenScopeError) -> int:
    return HTTP_STATUS[error.kind]


def error_body(error: OpenScopeError, request_id: str) -> dict[str, Any]:
    """The Responses API's flat error shape (BEHAVIOUR.md)."""
    return {"code": error_code(error), "message": names.message(error), "request_id": request_id}


# -- conversations ----------------------------------------------------------------------


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
