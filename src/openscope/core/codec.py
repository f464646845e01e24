"""Core types to and from plain JSON-able dicts, for storage. Every part carries a `type`
tag so a record reads back exactly as it was written."""

from __future__ import annotations

from typing import Any, assert_never

from openscope.core.builtin_tools import (
    BuiltinTool,
    BuiltinToolKind,
    CodeInterpreter,
    FileSearch,
    ImageSearch,
    Mcp,
    McpApprovalPolicy,
    WebExtractor,
    WebSearch,
)
from openscope.core.events import Usage
from openscope.core.knowledge import Comparison, Compound, Filter
from openscope.core.messages import (
    AudioPart,
    BuiltinCallPart,
    BuiltinResultPart,
    CacheControl,
    ImagePart,
    Message,
    Part,
    ReasoningPart,
    Role,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from openscope.core.request import (
    ResponseFormat,
    ResponseFormatType,
    ThinkingConfig,
    ToolChoice,
    ToolChoiceMode,
    ToolSpec,
)
from openscope.core.state import Item, TurnSettings

JSON = dict[str, Any]


def _cache(cache: CacheControl | None) -> JSON | None:
    return {"type": cache.type} if cache else None


def _cache_of(data: JSON | None) -> CacheControl | None:
    return CacheControl(data["type"]) if data else None


def part_to_dict(part: Part) -> JSON:
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text, "cache_control": _cache(part.cache_control)}
    if isinstance(part, ImagePart):
        return {
            "type": "image",
            "url": part.url,
            "detail": part.detail,
            "cache_control": _cache(part.cache_control),
        }
    if isinstance(part, AudioPart):
        return {"type": "audio", "data": part.data, "format": part.format}
    if isinstance(part, ReasoningPart):
        return {"type": "reasoning", "text": part.text, "signature": part.signature}
    if isinstance(part, ToolCallPart):
        return {"type": "tool_call", "id": part.id, "name": part.name, "arguments": part.arguments}
    if isinstance(part, BuiltinCallPart):
        return {
            "type": "builtin_call",
            "id": part.id,
            "tool": str(part.tool),
            "arguments": part.arguments,
        }
    if isinstance(part, BuiltinResultPart):
        return {
            "type": "builtin_result",
            "call_id": part.call_id,
            "tool": str(part.tool),
            "output": part.output,
            "status": part.status,
        }
    return {
        "type": "tool_result",
        "tool_call_id": part.tool_call_id,
        "content": [part_to_dict(p) for p in part.content],
        "is_error": part.is_error,
    }


def part_from_dict(data: JSON) -> Part:
    kind = data["type"]
    if kind == "text":
        return TextPart(data["text"], cache_control=_cache_of(data.get("cache_control")))
    if kind == "image":
        return ImagePart(
            data["url"], data.get("detail"), cache_control=_cache_of(data.get("cache_control"))
        )
    if kind == "audio":
        return AudioPart(data["data"], data["format"])
    if kind == "reasoning":
        return ReasoningPart(data["text"], signature=data.get("signature"))
    if kind == "tool_call":
        return ToolCallPart(id=data["id"], name=data["name"], arguments=data["arguments"])
    if kind == "tool_result":
        content = tuple(part_from_dict(p) for p in data["content"])
        return ToolResultPart(
            data["tool_call_id"],
            tuple(p for p in content if isinstance(p, TextPart | ImagePart)),
            is_error=bool(data.get("is_error")),
        )
    if kind == "builtin_call":
        return BuiltinCallPart(data["id"], BuiltinToolKind(data["tool"]), data["arguments"])
    if kind == "builtin_result":
        tool = BuiltinToolKind(data["tool"])
        return BuiltinResultPart(data["call_id"], tool, data["output"], status=data["status"])
    raise ValueError(f"unknown part type {kind!r}")


def message_to_dict(message: Message) -> JSON:
    return {
        "role": str(message.role),
        "parts": [part_to_dict(p) for p in message.parts],
        "name": message.name,
    }


def message_from_dict(data: JSON) -> Message:
    return Message(
        role=Role(data["role"]),
        parts=tuple(part_from_dict(p) for p in data["parts"]),
        name=data.get("name"),
    )


def item_to_dict(item: Item) -> JSON:
    return {"id": item.id, "created_at": item.created_at, "message": message_to_dict(item.message)}


def item_from_dict(data: JSON) -> Item:
    return Item(
        id=data["id"],
        created_at=int(data.get("created_at", 0)),
        message=message_from_dict(data["message"]),
    )


def usage_to_dict(usage: Usage) -> JSON:
    return {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cached_tokens": usage.cached_tokens,
        "cache_creation_tokens": usage.cache_creation_tokens,
        "reasoning_tokens": usage.reasoning_tokens,
        "cache_type": usage.cache_type,
    }


def usage_from_dict(data: JSON) -> Usage:
    counts = {k: int(v) for k, v in data.items() if k != "cache_type"}
    return Usage(**counts, cache_type=data.get("cache_type"))


def tool_to_dict(tool: ToolSpec) -> JSON:
    return {
        "name": tool.name,
        "description": tool.description,
        "parameters": tool.parameters,
        "strict": tool.strict,
        "cache_control": _cache(tool.cache_control),
    }


def tool_from_dict(data: JSON) -> ToolSpec:
    return ToolSpec(
        name=data["name"],
        description=data.get("description"),
        parameters=data.get("parameters") or {},
        strict=bool(data.get("strict")),
        cache_control=_cache_of(data.get("cache_control")),
    )


def builtin_tool_to_dict(tool: BuiltinTool) -> JSON:
    """A built-in tool as kept with its turn. An MCP server's `headers` are not kept: they
    may hold its credentials, and the turn is kept only to be echoed and chained on."""
    match tool:
        case WebSearch(options=options):
            return {"type": str(tool.kind), "options": options}
        case CodeInterpreter(container_id=str() as container_id):
            return {"type": str(tool.kind), "container": container_id}
        case CodeInterpreter(auto_container=True):
            return {"type": str(tool.kind), "container": {"type": "auto"}}
        case WebExtractor() | CodeInterpreter() | ImageSearch():
            return {"type": str(tool.kind)}
        case FileSearch(vector_store_ids=ids, max_num_results=most):
            ranking = {"ranker": tool.ranker, "score_threshold": tool.score_threshold}
            return {
                "type": str(tool.kind),
                "vector_store_ids": list(ids),
                "max_num_results": most,
                "filters": filter_to_dict(tool.filters) if tool.filters is not None else None,
                "ranking_options": {k: v for k, v in ranking.items() if v is not None} or None,
            }
        case Mcp():
            return {
                "type": str(tool.kind),
                "server_label": tool.server_label,
                "server_url": tool.server_url,
                "server_protocol": tool.server_protocol,
                "server_description": tool.server_description,
                "allowed_tools": (
                    list(tool.allowed_tools) if tool.allowed_tools is not None else None
                ),
                "require_approval": {
                    "default": tool.require_approval.default,
                    "always": list(tool.require_approval.always),
                    "never": list(tool.require_approval.never),
                },
                # a server the settings declare is found by its label when chained on
                "declared": tool.declared,
            }
        case _:
            assert_never(tool)


def builtin_tool_from_dict(data: JSON) -> BuiltinTool:
    kind = BuiltinToolKind(data["type"])
    match kind:
        case BuiltinToolKind.WEB_SEARCH:
            return WebSearch(options=dict(data.get("options") or {}))
        case BuiltinToolKind.WEB_EXTRACTOR:
            return WebExtractor()
        case BuiltinToolKind.CODE_INTERPRETER:
            container = data.get("container")
            if isinstance(container, str):
                return CodeInterpreter(container_id=container)
            return CodeInterpreter(auto_container=container is not None)
        case BuiltinToolKind.WEB_SEARCH_IMAGE | BuiltinToolKind.IMAGE_SEARCH:
            return ImageSearch(kind)
        case BuiltinToolKind.FILE_SEARCH:
            filters = data.get("filters")
            ranking = data.get("ranking_options") or {}
            return FileSearch(
                tuple(data["vector_store_ids"]),
                data.get("max_num_results"),
                filters=filter_from_dict(filters) if filters is not None else None,
                score_threshold=ranking.get("score_threshold"),
                ranker=ranking.get("ranker"),
            )
        case BuiltinToolKind.MCP:
            allowed = data.get("allowed_tools")
            approval = data.get("require_approval") or {}
            return Mcp(
                data["server_label"],
                data["server_url"],
                data.get("server_protocol", "sse"),
                data.get("server_description"),
                allowed_tools=tuple(allowed) if allowed is not None else None,
                require_approval=McpApprovalPolicy(
                    bool(approval.get("default", False)),
                    tuple(approval.get("always", ())),
                    tuple(approval.get("never", ())),
                ),
                declared=bool(data.get("declared", False)),
            )
        case _:
            assert_never(kind)


def filter_to_dict(value: Filter) -> JSON:
    """A filter in OpenAI's wire shape (`{type: eq, key, value}`, `{type: and, filters}`)."""
    match value:
        case Comparison(key=key, op=op, value=tuple() as values):
            return {"type": op, "key": key, "value": list(values)}
        case Comparison(key=key, op=op, value=single):
            return {"type": op, "key": key, "value": single}
        case Compound(op=op, filters=filters):
            return {"type": op, "filters": [filter_to_dict(f) for f in filters]}
        case _:
            assert_never(value)


def filter_from_dict(data: JSON) -> Filter:
    kind = data["type"]
    if kind in ("and", "or"):
        return Compound(kind, tuple(filter_from_dict(f) for f in data["filters"]))
    value = data["value"]
    return Comparison(data["key"], kind, tuple(value) if isinstance(value, list) else value)


def settings_to_dict(settings: TurnSettings) -> JSON:
    return {
        "instructions": settings.instructions,
        "tools": [tool_to_dict(t) for t in settings.tools],
        "builtin_tools": [builtin_tool_to_dict(t) for t in settings.builtin_tools],
        "tool_choice": {
            "mode": str(settings.tool_choice.mode),
            "name": settings.tool_choice.name,
            "allowed": list(settings.tool_choice.allowed)
            if settings.tool_choice.allowed is not None
            else None,
        },
        "parallel_tool_calls": settings.parallel_tool_calls,
        "temperature": settings.temperature,
        "top_p": settings.top_p,
        "max_output_tokens": settings.max_output_tokens,
        "thinking": {
            "enabled": settings.thinking.enabled,
            "budget_tokens": settings.thinking.budget_tokens,
            "effort": settings.thinking.effort,
        },
        "reasoning_effort": settings.reasoning_effort,
        "response_format": {
            "type": str(settings.response_format.type),
            "name": settings.response_format.name,
            "schema": settings.response_format.schema,
            "strict": settings.response_format.strict,
        },
        "metadata": settings.metadata,
        "store": settings.store,
    }


def _format_of(data: JSON | None) -> ResponseFormat:
    if not data:
        return ResponseFormat()
    return ResponseFormat(
        ResponseFormatType(data["type"]),
        name=data.get("name"),
        schema=data.get("schema"),
        strict=bool(data.get("strict")),
    )


def settings_from_dict(data: JSON) -> TurnSettings:
    choice = data["tool_choice"]
    allowed = choice.get("allowed")
    return TurnSettings(
        instructions=data.get("instructions"),
        tools=tuple(tool_from_dict(t) for t in data.get("tools", ())),
        builtin_tools=tuple(builtin_tool_from_dict(t) for t in data.get("builtin_tools", ())),
        tool_choice=ToolChoice(
            ToolChoiceMode(choice["mode"]),
            name=choice.get("name"),
            allowed=tuple(allowed) if allowed is not None else None,
        ),
        parallel_tool_calls=bool(data.get("parallel_tool_calls", True)),
        temperature=data.get("temperature"),
        top_p=data.get("top_p"),
        max_output_tokens=data.get("max_output_tokens"),
        thinking=ThinkingConfig(**data.get("thinking", {})),
        reasoning_effort=data.get("reasoning_effort"),
        response_format=_format_of(data.get("response_format")),
        metadata=dict(data.get("metadata") or {}),
        store=bool(data.get("store", True)),
    )
