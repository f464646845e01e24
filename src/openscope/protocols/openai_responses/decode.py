"""Responses and Conversations wire requests -> core turns and items, with Model Studio's
checks and messages."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Any, TypeVar, assert_never

from pydantic import BaseModel

from openscope.core import ids
from openscope.core.arguments import arguments_text
from openscope.core.builtin_tools import (
    BuiltinTool,
    BuiltinToolKind,
    CodeInterpreter,
    FileSearch,
    ImageSearch,
    Mcp,
    WebExtractor,
    WebSearch,
)
from openscope.core.errors import InvalidParameter
from openscope.core.messages import (
    ImagePart,
    Message,
    ReasoningPart,
    Role,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from openscope.core.metadata import checked_metadata
from openscope.core.request import (
    GenerateRequest,
    ResponseFormat,
    ResponseFormatType,
    SamplingParams,
    ThinkingConfig,
    ToolChoice,
    ToolChoiceMode,
    ToolSpec,
)
from openscope.core.rules.ranges import checked_sampling
from openscope.core.state import Item, TurnSettings
from openscope.core.turns import Turn
from openscope.protocols.http import parse_wire
from openscope.protocols.openai_responses.builtin_items import (
    BUILTIN_ITEM_TYPES,
    builtin_item_message,
)
from openscope.protocols.openai_responses.file_search_tool import file_search_tool
from openscope.protocols.openai_responses.mcp_items import (
    MCP_ITEM_TYPES,
    check_mcp_servers,
    mcp_item_message,
    mcp_tool,
)
from openscope.protocols.openai_responses.schemas import (
    ContentPartWire,
    ItemWire,
    ResponseRequest,
    ToolChoiceObject,
    ToolWire,
)

W = TypeVar("W", bound=BaseModel)

MIN_OUTPUT_TOKENS = 16
BUILTIN_TOOL_TYPES = {kind.value for kind in BuiltinToolKind}
# reasoning.effort replaces enable_thinking and wins over it (BEHAVIOUR.md)
EFFORT_THINKS = {
    "none": False,
    "minimal": False,
    "low": True,
    "medium": True,
    "high": True,
    "xhigh": True,
    "max": True,
}
MESSAGE_ROLES = {
    "user": Role.USER,
    "assistant": Role.ASSISTANT,
    "system": Role.SYSTEM,
    "developer": Role.SYSTEM,
}


def _path(where: list[Any]) -> str:
    """A location as OpenAI writes it: `input[0].content`."""
    return "".join(
        f"[{p}]" if isinstance(p, int) else (f".{p}" if i else str(p)) for i, p in enumerate(where)
    )


def parse(model: type[W], body: Any) -> W:
    return parse_wire(model, body, lambda where, problem: f"Invalid '{_path(where)}': {problem}.")


def decode(body: Any) -> tuple[Turn, ResponseRequest]:
    wire = parse(ResponseRequest, body)
    conversation = wire.conversation
    conversation_id = (
        conversation
        if isinstance(conversation, str)
        else (conversation.id if conversation else None)
    )
    if wire.previous_response_id and conversation_id:
        raise InvalidParameter(
            "Mutually exclusive parameters: Ensure you are only providing one of: "
            "previous_response_id or conversation.",
            param="previous_response_id",
        )
    if wire.max_output_tokens is not None and wire.max_output_tokens < MIN_OUTPUT_TOKENS:
        raise InvalidParameter(
            f"Invalid 'max_output_tokens': must be greater than or equal to "
            f"{MIN_OUTPUT_TOKENS}, got {wire.max_output_tokens}.",
            param="max_output_tokens",
        )
    sampling = checked_sampling(
        SamplingParams(
            temperature=wire.temperature,
            top_p=wire.top_p,
            max_tokens=wire.max_output_tokens,
        )
    )
    items = input_items(wire.input)
    if not items:
        raise InvalidParameter("Invalid 'input': the input must not be empty.", param="input")
    declared = [_tool(t, n) for n, t in enumerate(wire.tools or ())]
    tools = tuple(t for t in declared if isinstance(t, ToolSpec))
    builtin_tools = tuple(t for t in declared if not isinstance(t, ToolSpec))
    check_mcp_servers([t for t in builtin_tools if isinstance(t, Mcp)])
    kinds = {t.kind for t in builtin_tools}
    if BuiltinToolKind.WEB_EXTRACTOR in kinds and BuiltinToolKind.WEB_SEARCH not in kinds:
        # Model Studio offers the extractor only beside web search (it reads what a
        # search found); alone, nothing would lead the model to a page.
        raise InvalidParameter(
            "Invalid 'tools': web_extractor must be used together with web_search.",
            param="tools",
        )
    if sum(isinstance(t, FileSearch) for t in builtin_tools) > 1:
        # The model is offered one file_search function: a second tool's stores and
        # options would have no call of their own.
        raise InvalidParameter(
            "Invalid 'tools': at most one file_search tool; name every vector store in its "
            "vector_store_ids.",
            param="tools",
        )
    response_format = _response_format(wire)
    settings = TurnSettings(
        instructions=wire.instructions,
        tools=tools,
        builtin_tools=builtin_tools,
        tool_choice=_tool_choice(wire.tool_choice, len(declared)),
        parallel_tool_calls=True if wire.parallel_tool_calls is None else wire.parallel_tool_calls,
        temperature=wire.temperature,
        top_p=wire.top_p,
        max_output_tokens=wire.max_output_tokens,
        thinking=_thinking(wire),
        reasoning_effort=wire.reasoning.effort if wire.reasoning else None,
        response_format=response_format,
        metadata=metadata(wire.metadata),
        store=True if wire.store is None else wire.store,
    )
    request = GenerateRequest(
        model=wire.model,
        messages=tuple(item.message for item in items),
        sampling=sampling,
        tools=tools,
        builtin_tools=builtin_tools,
        tool_choice=settings.tool_choice,
        parallel_tool_calls=settings.parallel_tool_calls,
        thinking=settings.thinking,
        response_format=response_format,
    )
    turn = Turn(
        response_id=ids.response_id(),
        created_at=int(time.time()),
        request=request,
        input_items=items,
        settings=settings,
        previous_response_id=wire.previous_response_id,
        conversation_id=conversation_id,
    )
    return turn, wire


def metadata(value: Mapping[str, str] | None) -> dict[str, str]:
    """The `metadata` of the body, within OpenAI's bounds (core.metadata)."""
    return checked_metadata(value)


def _response_format(wire: ResponseRequest) -> ResponseFormat:
    """`text.format`: plain text, a JSON object, or JSON that fits a schema."""
    text_format = wire.text.format if wire.text else None
    if text_format is None or text_format.type == "text":
        return ResponseFormat()
    if text_format.type == "json_object":
        return ResponseFormat(ResponseFormatType.JSON_OBJECT)
    if text_format.type == "json_schema" and text_format.schema_ is not None:
        return ResponseFormat(
            ResponseFormatType.JSON_SCHEMA,
            name=text_format.name,
            schema=text_format.schema_,
            strict=bool(text_format.strict),
        )
    raise InvalidParameter(
        f"Invalid 'text.format': type '{text_format.type}' needs to be text, json_object, or "
        "json_schema with a schema.",
        param="text",
    )


def _thinking(wire: ResponseRequest) -> ThinkingConfig:
    effort = wire.reasoning.effort if wire.reasoning else None
    if effort is not None:
        if effort not in EFFORT_THINKS:
            raise InvalidParameter(
                f"Invalid 'reasoning.effort': must be one of {', '.join(EFFORT_THINKS)}.",
                param="reasoning",
            )
        return ThinkingConfig(enabled=EFFORT_THINKS[effort])
    return ThinkingConfig(enabled=wire.enable_thinking)


def input_items(value: str | list[ItemWire]) -> tuple[Item, ...]:
    created = int(time.time())
    if isinstance(value, str):
        message = Message(Role.USER, (TextPart(value),))
        return (Item(ids.input_item_id("msg"), message, created),)
    return tuple(_item(wire, position, created) for position, wire in enumerate(value))


def _item(wire: ItemWire, position: int, created: int) -> Item:
    if wire.type == "message":
        role = MESSAGE_ROLES.get(wire.role or "")
        if role is None:
            raise InvalidParameter(
                f"Invalid 'input[{position}].role': must be one of user, assistant, system, "
                "developer.",
                param="input",
            )
        if wire.content is None:
            raise InvalidParameter(
                f"Missing required parameter: 'input[{position}].content'.", param="input"
            )
        message = Message(role, _content(wire.content, position))
        return Item(wire.id or ids.input_item_id("msg"), message, created)
    if wire.type == "function_call":
        if not wire.call_id or not wire.name:
            raise InvalidParameter(
                f"Invalid 'input[{position}]': a function_call needs call_id and name.",
                param="input",
            )
        call = ToolCallPart(
            id=wire.call_id, name=wire.name, arguments=arguments_text(wire.arguments)
        )
        return Item(wire.id or ids.input_item_id("fc"), Message(Role.ASSISTANT, (call,)), created)
    if wire.type == "function_call_output":
        if not wire.call_id:
            raise InvalidParameter(
                f"Invalid 'input[{position}]': a function_call_output needs call_id.",
                param="input",
            )
        if wire.output is None:
            raise InvalidParameter(
                f"Missing required parameter: 'input[{position}].output'.", param="input"
            )
        output = (
            wire.output
            if isinstance(wire.output, str)
            else "".join(p.text or "" for p in wire.output or ())
        )
        result = ToolResultPart(wire.call_id, (TextPart(output),))
        return Item(wire.id or ids.input_item_id("fco"), Message(Role.TOOL, (result,)), created)
    if wire.type == "reasoning":
        text = "".join(p.text or "" for p in wire.summary or ())
        if isinstance(wire.content, list):
            text = text or "".join(p.text or "" for p in wire.content)
        message = Message(Role.ASSISTANT, (ReasoningPart(text),))
        return Item(wire.id or ids.input_item_id("rs"), message, created)
    if wire.type in BUILTIN_ITEM_TYPES:
        item_id = wire.id or ids.input_item_id("msg")
        fields = wire.model_dump(exclude_none=True)
        return Item(item_id, builtin_item_message(wire.type, fields, item_id, position), created)
    if wire.type in MCP_ITEM_TYPES:
        item_id = wire.id or ids.input_item_id("mcp")
        fields = wire.model_dump(exclude_none=True)
        return Item(item_id, mcp_item_message(wire.type, fields, item_id, position), created)
    raise InvalidParameter(
        f"Invalid 'input[{position}].type': '{wire.type}' items are not supported; use "
        "message, function_call, function_call_output, reasoning or a built-in tool's "
        f"item ({', '.join([*BUILTIN_ITEM_TYPES, *sorted(MCP_ITEM_TYPES)])}).",
        param="input",
    )


def _content(
    content: str | list[ContentPartWire], position: int
) -> tuple[TextPart | ImagePart, ...]:
    if isinstance(content, str):
        return (TextPart(content),)
    parts: list[TextPart | ImagePart] = []
    for index, part in enumerate(content):
        if part.type in ("input_text", "output_text", "text", "refusal"):
            parts.append(TextPart(part.text or ""))
        elif part.type == "input_image" and part.image_url:
            origin = f"input[{position}].content[{index}].image_url"
            parts.append(ImagePart(part.image_url, part.detail, origin=origin))
        else:
            raise InvalidParameter(
                f"Invalid 'input[{position}].content': the content type '{part.type}' is not "
                "supported.",
                param="input",
            )
    return tuple(parts)


def _builtin_tool(kind: BuiltinToolKind, wire: ToolWire, where: str) -> BuiltinTool:
    """A built-in tool with its options; the tool itself honours or refuses them.
    `where`: its place in the request (`tools[0]`)."""
    extra = dict(wire.model_extra or {})
    match kind:
        case BuiltinToolKind.WEB_SEARCH:
            # Model Studio's Responses web_search takes no options (chat's search_options
            # are not these); one sent would otherwise be passed on or lost.
            if extra:
                raise InvalidParameter(
                    f"Invalid 'tools': web_search takes no options; '{sorted(extra)[0]}' is "
                    "not supported.",
                    param="tools",
                )
            return WebSearch()
        case BuiltinToolKind.WEB_EXTRACTOR:
            return WebExtractor()
        case BuiltinToolKind.CODE_INTERPRETER:
            return _code_interpreter(extra)
        case BuiltinToolKind.WEB_SEARCH_IMAGE | BuiltinToolKind.IMAGE_SEARCH:
            # Model Studio's image tools take no options either (builtin-tools.md §3.0).
            if extra:
                raise InvalidParameter(
                    f"Invalid 'tools': {kind} takes no options; '{sorted(extra)[0]}' is not "
                    "supported.",
                    param="tools",
                )
            return ImageSearch(kind)
        case BuiltinToolKind.FILE_SEARCH:
            return file_search_tool(extra, where)
        case BuiltinToolKind.MCP:
            return mcp_tool(extra)
        case _:
            assert_never(kind)


# A container id as OpenAI writes them ("cntr_" and hex); ours are "cntr_" and 32 hex.
CONTAINER_ID = re.compile(r"^cntr_[A-Za-z0-9]{1,128}$")


def _code_interpreter(options: dict[str, Any]) -> CodeInterpreter:
    """OpenAI's `container`: a container id (the calls run in it: one of the caller's
    that is gone fails them) or `{"type": "auto"}` (the server's choice: the
    conversation's own). The sandbox's limits and its closed network are the server's:
    `auto`'s `memory_limit`, `network_policy` and `file_ids` are refused, not ignored."""
    container = options.pop("container", None)
    if options:
        raise InvalidParameter(
            f"Invalid 'tools': code_interpreter does not support '{sorted(options)[0]}'.",
            param="tools",
        )
    if container is None:
        return CodeInterpreter()
    if isinstance(container, str):
        if not CONTAINER_ID.match(container):
            raise InvalidParameter(
                f"Invalid 'tools[].container': '{container[:64]}' is not a container id "
                "(cntr_...).",
                param="tools",
            )
        return CodeInterpreter(container_id=container)
    if not isinstance(container, dict) or container.get("type") != "auto":
        raise InvalidParameter(
            "Invalid 'tools[].container': expected a container id (cntr_...) or an object "
            'with type "auto".',
            param="tools",
        )
    unsupported = sorted(set(container) - {"type"})
    if unsupported:
        raise InvalidParameter(
            f"Invalid 'tools[].container': '{unsupported[0]}' is not supported: the "
            "server's own sandbox limits apply and it has no network.",
            param="tools",
        )
    return CodeInterpreter(auto_container=True)


def _tool(wire: ToolWire, position: int) -> ToolSpec | BuiltinTool:
    if wire.type in BUILTIN_TOOL_TYPES:
        return _builtin_tool(BuiltinToolKind(wire.type), wire, f"tools[{position}]")
    if wire.type != "function" or not wire.name:
        raise InvalidParameter(
            f"Invalid tool of type '{wire.type}': expected a function tool with a name.",
            param="tools",
        )
    return ToolSpec(
        name=wire.name,
        description=wire.description,
        parameters=wire.parameters or {},
        strict=bool(wire.strict),
    )


def _tool_choice(wire: str | ToolChoiceObject | None, tool_count: int) -> ToolChoice:
    """`tool_count`: the tools the request declares, built-in ones included ("required" is
    for exactly one tool in `tools`, whatever its type: it forces a lone web_search too)."""
    if wire is None or wire == "auto":
        return ToolChoice()
    if wire == "none":
        return ToolChoice(ToolChoiceMode.NONE)
    if wire == "required":
        if tool_count != 1:
            raise InvalidParameter(
                "tool_choice 'required' is available only when tools holds exactly one tool.",
                param="tool_choice",
            )
        return ToolChoice(ToolChoiceMode.REQUIRED)
    if isinstance(wire, ToolChoiceObject):
        if wire.type == "function" and wire.name:
            return ToolChoice(ToolChoiceMode.NAMED, name=wire.name)
        if wire.type == "allowed_tools" and wire.tools:
            mode = ToolChoiceMode.REQUIRED if wire.mode == "required" else ToolChoiceMode.AUTO
            return ToolChoice(mode, allowed=tuple(t.name for t in wire.tools))
    raise InvalidParameter(
        "Invalid 'tool_choice': use auto, none, required, a function, or allowed_tools.",
        param="tool_choice",
    )
