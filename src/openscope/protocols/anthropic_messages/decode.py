"""Anthropic-compatible Messages request -> core `GenerateRequest`.

Sampling ranges are Model Studio's, shared by every API (core/rules/ranges: temperature in
[0, 2), not Anthropic's [0, 1]; a top_k above 100 turns top-k off), with Model Studio's
messages; the error body is Anthropic's (see `encode`)."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

from openscope.core.arguments import arguments_text
from openscope.core.builtin_tools import BuiltinTool, WebSearch, declared_mcp_servers
from openscope.core.errors import InvalidParameter
from openscope.core.messages import (
    BuiltinCallPart,
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
    GenerateRequest,
    SamplingParams,
    ThinkingConfig,
    ToolChoice,
    ToolChoiceMode,
    ToolSpec,
)
from openscope.core.rules import Field, Refusal, Wording
from openscope.core.rules.ranges import checked_sampling
from openscope.core.rules.sizes import check_sizes
from openscope.protocols.anthropic_messages import web_search
from openscope.protocols.anthropic_messages.schemas import (
    CacheControlWire,
    CountTokensRequest,
    ImageBlock,
    MessagesRequest,
    MessageWire,
    RedactedThinkingBlock,
    ServerToolUseBlock,
    TextBlock,
    ThinkingBlock,
    ThinkingWire,
    ToolChoiceWire,
    ToolResultBlock,
    ToolUseBlock,
    ToolWire,
    WebSearchToolResultBlock,
)
from openscope.protocols.http import parse_wire

W = TypeVar("W", bound=BaseModel)

# Anthropic's cache lifetimes, in seconds.
CACHE_TTLS = {"5m": 300, "1h": 3600}
# The seed: low and medium run as high, xhigh as max.
EFFORTS = {"low": "high", "medium": "high", "high": "high", "xhigh": "max", "max": "max"}


def _parse(model: type[W], body: Any) -> W:
    return parse_wire(model, body, lambda where, problem: f"{'.'.join(map(str, where))}: {problem}")


def decode(body: Any) -> tuple[GenerateRequest, MessagesRequest]:
    wire = _parse(MessagesRequest, body)
    return _request(wire, _sampling(wire), _effort(wire)), wire


def decode_count_tokens(body: Any) -> GenerateRequest:
    wire = _parse(CountTokensRequest, body)
    request = _request(wire, SamplingParams(), None)
    # Counting skips the generation rules, but not the size bounds: it renders the prompt.
    check_sizes(request)
    return request


def _request(
    wire: CountTokensRequest, sampling: SamplingParams, effort: str | None
) -> GenerateRequest:
    thinking = _thinking(wire.thinking)
    if effort is not None:
        thinking = ThinkingConfig(thinking.enabled, thinking.budget_tokens, effort)
    choice = wire.tool_choice
    tools, builtins = _tools(wire.tools or [], choice)
    if thinking.enabled and any(isinstance(b, WebSearch) and b.forced for b in builtins):
        # A tool choice naming the server tool forces a call as one naming a function does
        # (the core's rule sees only the latter): refused alike while thinking.
        raise Refusal(Wording.FORCED_TOOL_WHILE_THINKING, Field.TOOL_CHOICE)
    try:
        servers = declared_mcp_servers(wire.mcp_servers)
    except ValueError as error:
        raise InvalidParameter(f"mcp_servers: {error}", param="mcp_servers") from None
    return GenerateRequest(
        model=wire.model,
        messages=_system(wire.system) + _messages(wire.messages),
        sampling=sampling,
        tools=tools,
        builtin_tools=(*builtins, *servers),
        tool_choice=_tool_choice(choice, builtins),
        parallel_tool_calls=not (choice and choice.disable_parallel_tool_use),
        thinking=thinking,
    )


def _sampling(wire: MessagesRequest) -> SamplingParams:
    if wire.max_tokens < 1:
        raise InvalidParameter("max_tokens: must be greater than or equal to 1", param="max_tokens")
    return checked_sampling(
        SamplingParams(
            temperature=wire.temperature,
            top_p=wire.top_p,
            top_k=wire.top_k,
            max_tokens=wire.max_tokens,
            stop=tuple(wire.stop_sequences or ()),
        )
    )


def _effort(wire: MessagesRequest) -> str | None:
    effort = wire.output_config.effort if wire.output_config else None
    if effort is None:
        return None
    if effort not in EFFORTS:
        raise InvalidParameter(
            f"output_config.effort: must be one of {', '.join(EFFORTS)}", param="output_config"
        )
    return EFFORTS[effort]


def _thinking(wire: ThinkingWire | None) -> ThinkingConfig:
    if wire is None:
        return ThinkingConfig()
    if wire.type == "disabled":
        return ThinkingConfig(enabled=False)
    if wire.type == "enabled" and wire.budget_tokens is None:
        raise InvalidParameter(
            "thinking.budget_tokens: Field required when thinking is enabled", param="thinking"
        )
    return ThinkingConfig(enabled=True, budget_tokens=wire.budget_tokens)


def _cache(wire: CacheControlWire | None) -> CacheControl | None:
    if wire is None:
        return None
    if wire.type != "ephemeral":
        raise InvalidParameter(
            f"cache_control.type: only 'ephemeral' is supported, got '{wire.type}'",
            param="cache_control",
        )
    if wire.ttl is not None and wire.ttl not in CACHE_TTLS:
        raise InvalidParameter(
            f"cache_control.ttl: must be '5m' or '1h', got '{wire.ttl}'", param="cache_control"
        )
    return CacheControl(wire.type, CACHE_TTLS[wire.ttl] if wire.ttl else None)


def _system(system: str | list[TextBlock] | None) -> tuple[Message, ...]:
    if system is None:
        return ()
    if isinstance(system, str):
        return (Message(Role.SYSTEM, (TextPart(system),)),) if system else ()
    parts = tuple(TextPart(b.text, cache_control=_cache(b.cache_control)) for b in system)
    return (Message(Role.SYSTEM, parts),) if parts else ()


def _messages(wire_messages: list[MessageWire]) -> tuple[Message, ...]:
    if not wire_messages:
        raise InvalidParameter("messages: at least one message is required", param="messages")
    messages: list[Message] = []
    for position, wire in enumerate(wire_messages):
        final_assistant = wire.role == "assistant" and position == len(wire_messages) - 1
        if wire.content == [] and not final_assistant:
            # Anthropic's rule; without it an empty user turn would vanish unnoticed.
            raise InvalidParameter(
                f"messages.{position}: all messages must have non-empty content except for "
                "the optional final assistant message",
                param="messages",
            )
        if wire.role == "user":
            messages.extend(_user_turn(wire, position))
        elif wire.role == "assistant":
            messages.append(_assistant_turn(wire))
        elif wire.role == "system":
            raise InvalidParameter(
                f'messages.{position}.role: Unexpected role "system". The Messages API '
                'accepts a top-level `system` parameter, not "system" as an input message role.',
                param="messages",
            )
        else:
            raise InvalidParameter(
                f"messages.{position}.role: must be 'user' or 'assistant', got '{wire.role}'",
                param="messages",
            )
    if not any(m.role is Role.USER for m in messages):
        raise InvalidParameter(
            "The input messages do not contain elements with the role of user.",
            param="messages",
        )
    return tuple(messages)


def _image(block: ImageBlock, where: str) -> ImagePart:
    """`where`: the block's place in the request, as Anthropic's errors name it."""
    source = block.source
    if source.type == "url" and source.url:
        url = source.url
    elif source.type == "base64" and source.data and source.media_type:
        url = f"data:{source.media_type};base64,{source.data}"
    else:
        raise InvalidParameter(
            "image.source: a url, or base64 data with a media_type, is required",
            param="messages",
        )
    return ImagePart(url, cache_control=_cache(block.cache_control), origin=f"{where}.source.url")


def _tool_result(block: ToolResultBlock, where: str) -> ToolResultPart:
    if isinstance(block.content, str):
        content: tuple[TextPart | ImagePart, ...] = (TextPart(block.content),)
    else:
        content = tuple(
            TextPart(b.text, cache_control=_cache(b.cache_control))
            if isinstance(b, TextBlock)
            else _image(b, f"{where}.content.{index}")
            for index, b in enumerate(block.content)
        )
    # A marker inside the result counts as one on the result: the cache's markers are parts.
    inner = [p.cache_control for p in content if p.cache_control is not None]
    cache = _cache(block.cache_control) or (inner[-1] if inner else None)
    return ToolResultPart(block.tool_use_id, content, is_error=block.is_error, cache_control=cache)


def _user_turn(wire: MessageWire, position: int) -> list[Message]:
    """A user turn. Tool results in it become tool messages, ahead of its other content,
    as the core (like chat) keeps each tool result in a message of its own."""
    if isinstance(wire.content, str):
        return [Message(Role.USER, (TextPart(wire.content),))]
    results: list[Message] = []
    parts: list[Part] = []
    for index, block in enumerate(wire.content):
        where = f"messages.{position}.content.{index}"
        if isinstance(block, ToolResultBlock):
            results.append(Message(Role.TOOL, (_tool_result(block, where),)))
        elif isinstance(block, TextBlock):
            parts.append(TextPart(block.text, cache_control=_cache(block.cache_control)))
        elif isinstance(block, ImageBlock):
            parts.append(_image(block, where))
        else:
            raise InvalidParameter(
                f"messages: a user turn cannot contain '{block.type}' blocks", param="messages"
            )
    return results + ([Message(Role.USER, tuple(parts))] if parts else [])


def _assistant_turn(wire: MessageWire) -> Message:
    if isinstance(wire.content, str):
        return Message(Role.ASSISTANT, (TextPart(wire.content),))
    parts: list[Part] = []
    searches: dict[str, BuiltinCallPart] = {}  # the web search calls so far, by id
    for block in wire.content:
        if isinstance(block, ServerToolUseBlock):
            call = web_search.call_part(block)
            searches[call.id] = call
            parts.append(call)
        elif isinstance(block, WebSearchToolResultBlock):
            parts.append(web_search.result_part(block, searches))
        elif isinstance(block, ThinkingBlock):
            parts.append(ReasoningPart(block.thinking, signature=block.signature))
        elif isinstance(block, RedactedThinkingBlock):
            continue  # opaque by design: nothing a model here could read
        elif isinstance(block, TextBlock):
            parts.append(TextPart(block.text, cache_control=_cache(block.cache_control)))
        elif isinstance(block, ToolUseBlock):
            arguments = arguments_text(block.input)
            cache = _cache(block.cache_control)
            parts.append(ToolCallPart(block.id, block.name, arguments, cache_control=cache))
        else:
            raise InvalidParameter(
                f"messages: an assistant turn cannot contain '{block.type}' blocks",
                param="messages",
            )
    return Message(Role.ASSISTANT, tuple(parts))


def _tools(
    wires: list[ToolWire], choice: ToolChoiceWire | None
) -> tuple[tuple[ToolSpec, ...], tuple[BuiltinTool, ...]]:
    """The client's tools, and the server tools (only web search) the server runs."""
    names = [t.name for t in wires]
    if len(set(names)) != len(names):
        raise InvalidParameter("tools: Tool names must be unique.", param="tools")
    tools: list[ToolSpec] = []
    builtins: list[BuiltinTool] = []
    for position, wire in enumerate(wires):
        if wire.type == web_search.TOOL_TYPE:
            forced = choice is not None and choice.type == "tool" and choice.name == wire.name
            builtins.append(web_search.tool(wire, position, forced=forced))
        else:
            tools.append(_tool(wire))
    return tuple(tools), tuple(builtins)


def _tool(wire: ToolWire) -> ToolSpec:
    if wire.type not in (None, "custom"):
        raise InvalidParameter(
            f"tools: the server tool type '{wire.type}' is not supported; define a client "
            f"tool with name, description and input_schema, or use '{web_search.TOOL_TYPE}'",
            param="tools",
        )
    return ToolSpec(
        name=wire.name,
        description=wire.description,
        parameters=wire.input_schema,
        cache_control=_cache(wire.cache_control),
    )


def _tool_choice(wire: ToolChoiceWire | None, builtins: tuple[BuiltinTool, ...]) -> ToolChoice:
    if wire is None or wire.type == "auto":
        return ToolChoice()
    if wire.type == "tool" and wire.name == web_search.TOOL_NAME and builtins:
        # The server tool named: its WebSearch is forced (`forced_search`), which the tool
        # loop honours on the model's first turn; later turns choose freely, as Anthropic's.
        return ToolChoice()
    if wire.type == "none":
        return ToolChoice(ToolChoiceMode.NONE)
    if wire.type == "any":
        return ToolChoice(ToolChoiceMode.REQUIRED)
    if not wire.name:
        raise InvalidParameter(
            "tool_choice.name: Field required for type 'tool'", param="tool_choice"
        )
    return ToolChoice(ToolChoiceMode.NAMED, name=wire.name)
