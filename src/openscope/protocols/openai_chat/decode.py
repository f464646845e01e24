"""Chat Completions wire request -> core `GenerateRequest`, with Model Studio's checks and
messages (see shared/spec/BEHAVIOUR.md)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from openscope.core import ids
from openscope.core.arguments import arguments_text
from openscope.core.builtin_tools import (
    BuiltinTool,
    CodeInterpreter,
    WebExtractor,
    WebSearch,
    declared_mcp_servers,
    search_options_problem,
)
from openscope.core.errors import InvalidParameter
from openscope.core.messages import (
    AudioPart,
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
    AudioOutput,
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
from openscope.protocols.http import parse_wire
from openscope.protocols.openai_chat.schemas import (
    ChatCompletionRequest,
    ContentPartWire,
    MessageWire,
    ResponseFormatWire,
    ToolChoiceWire,
    ToolWire,
)

JSON_WORD_MESSAGE = (
    "'messages' must contain the word 'json' in some form, to use 'response_format' of type "
    "'json_object'."
)


def parse(body: Any) -> ChatCompletionRequest:
    return parse_wire(
        ChatCompletionRequest,
        body,
        lambda where, problem: f"Invalid parameter '{'.'.join(map(str, where))}': {problem}.",
    )


def _builtin_tools(wire: ChatCompletionRequest) -> tuple[BuiltinTool, ...]:
    """Chat switches built-in tools on with flags; the core names them as tools."""
    tools: list[BuiltinTool] = []
    if wire.enable_search:
        options = dict(wire.search_options or {})
        problem = search_options_problem(options)
        if problem is not None:
            raise InvalidParameter(
                f"Invalid parameter 'search_options': {problem}.", param="search_options"
            )
        search = WebSearch(options=options, by_strategy=True)
        tools.append(search)
        if search.reads_pages:
            # agent_max searches and reads the pages found; Model Studio streams it only.
            if not wire.stream:
                raise InvalidParameter(
                    "The agent_max search strategy supports only streaming output: set "
                    "stream to true.",
                    param="search_options",
                )
            tools.append(WebExtractor())
    if wire.enable_code_interpreter:
        _check_code_interpreter(wire)
        # Thinking mode too (Model Studio's Chat runs the interpreter only while the model
        # thinks): the core checks it against the model's catalogue entry.
        tools.append(CodeInterpreter(requires_thinking=True))
    try:
        tools += declared_mcp_servers(wire.mcp_servers)
    except ValueError as error:
        raise InvalidParameter(
            f"Invalid parameter 'mcp_servers': {error}.", param="mcp_servers"
        ) from None
    return tuple(tools)


def _check_code_interpreter(wire: ChatCompletionRequest) -> None:
    """Model Studio's Chat rules for `enable_code_interpreter` that the request alone
    shows (builtin-tools.md §2): streaming only, and never beside function tools."""
    if not wire.stream:
        raise InvalidParameter(
            "enable_code_interpreter supports only streaming output: set stream to true.",
            param="enable_code_interpreter",
        )
    if wire.tools:
        raise InvalidParameter(
            "enable_code_interpreter cannot be used together with function calling: send "
            "either tools or enable_code_interpreter.",
            param="enable_code_interpreter",
        )


def decode(body: Any) -> tuple[GenerateRequest, ChatCompletionRequest]:
    wire = parse(body)
    messages = _messages(wire.messages)
    response_format = _response_format(wire.response_format, messages)
    request = GenerateRequest(
        model=wire.model,
        messages=messages,
        sampling=_sampling(wire),
        tools=tuple(_tool(t) for t in wire.tools or ()),
        tool_choice=_tool_choice(wire.tool_choice),
        parallel_tool_calls=bool(wire.parallel_tool_calls),
        response_format=response_format,
        thinking=ThinkingConfig(enabled=wire.enable_thinking, budget_tokens=wire.thinking_budget),
        builtin_tools=_builtin_tools(wire),
        output_modalities=_modalities(wire.modalities),
        audio=_audio(wire),
        partial=_partial(wire),
        high_resolution_images=wire.vl_high_resolution_images is True,
    )
    return request, wire


# -- spoken answers ---------------------------------------------------------------------

MODALITIES = (("text",), ("text", "audio"))


def _modalities(wire: list[str] | None) -> tuple[str, ...]:
    modalities = tuple(wire or ("text",))
    if modalities not in MODALITIES:
        raise InvalidParameter(
            'Invalid parameter \'modalities\': the valid values are ["text"] and ["text","audio"].',
            param="modalities",
        )
    return modalities


def _audio(wire: ChatCompletionRequest) -> AudioOutput | None:
    """`audio` (voice and format) goes with `modalities: ["text","audio"]`, as Model Studio
    documents: without it, refused. (Left out, the model speaks in its default voice.)"""
    if wire.audio is None:
        return None
    if "audio" not in (wire.modalities or ()):
        raise InvalidParameter(
            'The audio parameter takes effect only when modalities is ["text","audio"]: set '
            "modalities, or leave audio out.",
            param="audio",
        )
    voice, fmt = wire.audio.get("voice"), wire.audio.get("format")
    if not isinstance(voice, str) or not voice or not isinstance(fmt, str) or not fmt:
        raise InvalidParameter(
            "Invalid parameter 'audio': it needs a voice and a format, both strings.",
            param="audio",
        )
    return AudioOutput(voice=voice, format=fmt)


# -- sampling ---------------------------------------------------------------------------


def _sampling(wire: ChatCompletionRequest) -> SamplingParams:
    stop, stop_ids = _stop(wire.stop)
    sampling = checked_sampling(
        SamplingParams(
            temperature=wire.temperature,
            top_p=wire.top_p,
            top_k=wire.top_k,
            presence_penalty=wire.presence_penalty,
            seed=wire.seed,
            # The range of max_tokens depends on the model: checked against the catalogue.
            # max_completion_tokens is OpenAI's newer name, which LangChain and newer SDK
            # code send; honoured so their length limits are not lost.
            max_tokens=wire.max_tokens
            if wire.max_tokens is not None
            else wire.max_completion_tokens,
            stop=stop,
            stop_token_ids=stop_ids,
            n=1 if wire.n is None else wire.n,
            logprobs=bool(wire.logprobs),
            # In range even when logprobs is off, as Model Studio checks it.
            top_logprobs=wire.top_logprobs or 0,
        )
    )
    return sampling if sampling.logprobs else replace(sampling, top_logprobs=0)


def _stop(
    stop: str | list[str | int | list[int]] | None,
) -> tuple[tuple[str, ...], tuple[tuple[int, ...], ...]]:
    if stop is None:
        return (), ()
    if isinstance(stop, str):
        return (stop,), ()
    strings = tuple(s for s in stop if isinstance(s, str))
    ids_: list[tuple[int, ...]] = []
    for item in stop:
        if isinstance(item, int):
            ids_.append((item,))
        elif isinstance(item, list):
            ids_.append(tuple(item))
    if strings and ids_:
        raise InvalidParameter(
            "The stop parameter must not mix token ids and strings.", param="stop"
        )
    return strings, tuple(ids_)


# -- messages ---------------------------------------------------------------------------


def _messages(wire_messages: list[MessageWire]) -> tuple[Message, ...]:
    messages: list[Message] = []
    pending_calls: list[ToolCallPart] = []  # calls of the last assistant turn not yet answered
    for position, wire in enumerate(wire_messages):
        role = _role(wire.role, position)
        _require_content(wire, role, position)
        if role is Role.SYSTEM and position != 0:
            raise InvalidParameter(
                "The system message must be the first message in 'messages'.",
                param="messages",
            )
        if role is Role.TOOL:
            if not pending_calls and not (messages and messages[-1].role is Role.TOOL):
                raise InvalidParameter(
                    'messages with role "tool" must be a response to a preceeding message '
                    'with "tool_calls"',
                    param="messages",
                )
            messages.append(_tool_message(wire, pending_calls, position))
            continue
        if role is Role.ASSISTANT:
            message = _assistant_message(wire, position)
            pending_calls = list(message.tool_calls)
            messages.append(message)
            continue
        pending_calls = []
        parts = _content(wire.content, position)
        messages.append(Message(role=role, parts=parts, name=wire.name))
    if not any(m.role is Role.USER for m in messages):
        raise InvalidParameter(
            "The input messages do not contain elements with the role of user.",
            param="messages",
        )
    return tuple(messages)


def _partial(wire: ChatCompletionRequest) -> bool:
    """Partial mode: the last message, an assistant one holding only text, is a prefix the
    answer continues (refused in thinking mode by the core rules, which know the model)."""
    last = len(wire.messages) - 1
    for position, message in enumerate(wire.messages):
        if not message.partial:
            continue
        if position != last or message.role != "assistant" or message.tool_calls:
            raise InvalidParameter(
                f"Invalid 'messages[{position}].partial': only the last message can be "
                "partial, and it must be an assistant message with content and no tool_calls.",
                param="messages",
            )
    return bool(wire.messages and wire.messages[-1].partial)


def _role(value: str, position: int) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise InvalidParameter(
            f"Invalid role '{value}' in messages[{position}]: the role must be one of "
            "system, user, assistant, tool.",
            param="messages",
        ) from None


def _require_content(wire: MessageWire, role: Role, position: int) -> None:
    """Every message needs `content`, as in OpenAI's API, except an assistant message that
    calls tools: it may carry the calls alone."""
    if wire.content is None and not (role is Role.ASSISTANT and wire.tool_calls):
        raise InvalidParameter(
            f"Missing required parameter: 'messages[{position}].content'.", param="messages"
        )


def _content(content: str | list[ContentPartWire] | None, position: int) -> tuple[Part, ...]:
    if content is None:
        return ()
    if isinstance(content, str):
        return (TextPart(content),)
    return tuple(
        _part(p, f"messages[{position}].content[{index}]") for index, p in enumerate(content)
    )


def _part(wire: ContentPartWire, where: str) -> TextPart | ImagePart | AudioPart:
    cache = CacheControl(wire.cache_control.type) if wire.cache_control else None
    if cache is not None and cache.type != "ephemeral":
        raise InvalidParameter("The cache_control type must be 'ephemeral'.", param="messages")
    if wire.type == "text":
        return TextPart(wire.text or "", cache_control=cache)
    if wire.type == "image_url" and wire.image_url is not None:
        origin = f"{where}.image_url"
        if isinstance(wire.image_url, str):
            return ImagePart(wire.image_url, cache_control=cache, origin=origin)
        image = wire.image_url
        return ImagePart(image.url, image.detail, cache_control=cache, origin=origin)
    if wire.type == "input_audio" and wire.input_audio is not None:
        if cache is not None:
            raise InvalidParameter(
                f"Invalid '{where}.cache_control': audio cannot be marked for the cache.",
                param="messages",
            )
        audio = wire.input_audio
        return AudioPart(audio.data, audio.format, origin=f"{where}.input_audio")
    raise InvalidParameter(
        f"The content type '{wire.type}' is not supported in messages.", param="messages"
    )


def _assistant_message(wire: MessageWire, position: int) -> Message:
    parts: list[Part] = []
    if wire.reasoning_content:
        parts.append(ReasoningPart(wire.reasoning_content))
    parts.extend(_content(wire.content, position))
    for call in wire.tool_calls or ():
        parts.append(
            ToolCallPart(
                id=call.id or ids.tool_call_id(),
                name=call.function.name,
                arguments=arguments_text(call.function.arguments),
            )
        )
    return Message(role=Role.ASSISTANT, parts=tuple(parts), name=wire.name)


def _tool_message(wire: MessageWire, pending_calls: list[ToolCallPart], position: int) -> Message:
    """A tool result. Model Studio's own examples answer by `name` without a
    `tool_call_id`, so match by id, then by name, then take the oldest unanswered call."""
    call = next((c for c in pending_calls if c.id == wire.tool_call_id), None)
    if call is None and wire.name:
        call = next((c for c in pending_calls if c.name == wire.name), None)
    if call is None and pending_calls:
        call = pending_calls[0]
    if call is not None:
        pending_calls.remove(call)
    call_id = wire.tool_call_id or (call.id if call else "")
    parts = _content(wire.content, position)
    if any(isinstance(p, AudioPart) for p in parts):
        raise InvalidParameter(
            f"Invalid 'messages[{position}].content': a tool message cannot hold audio.",
            param="messages",
        )
    content = tuple(p for p in parts if isinstance(p, TextPart | ImagePart))
    result = ToolResultPart(tool_call_id=call_id, content=content)
    return Message(role=Role.TOOL, parts=(result,), name=wire.name or (call.name if call else None))


# -- tools and formats ------------------------------------------------------------------


def _tool(wire: ToolWire) -> ToolSpec:
    if wire.type != "function":
        raise InvalidParameter(
            f"The tool type '{wire.type}' is not supported; use 'function'.", param="tools"
        )
    function = wire.function
    return ToolSpec(
        name=function.name,
        description=function.description,
        parameters=function.parameters or {},
        strict=bool(function.strict),
    )


def _tool_choice(wire: str | ToolChoiceWire | None) -> ToolChoice:
    if wire is None:
        return ToolChoice()
    if isinstance(wire, ToolChoiceWire):
        return ToolChoice(ToolChoiceMode.NAMED, name=wire.function.name)
    modes = {
        "auto": ToolChoiceMode.AUTO,
        "none": ToolChoiceMode.NONE,
        "required": ToolChoiceMode.REQUIRED,
    }
    if wire not in modes:
        raise InvalidParameter(
            'tool_choice is one of the strings that should be ["none", "auto"]',
            param="tool_choice",
        )
    return ToolChoice(modes[wire])


def _response_format(
    wire: ResponseFormatWire | None, messages: tuple[Message, ...]
) -> ResponseFormat:
    if wire is None or wire.type == "text":
        return ResponseFormat()
    if wire.type == "json_object":
        if not any("json" in _all_text(m).lower() for m in messages):
            raise InvalidParameter(JSON_WORD_MESSAGE, param="response_format")
        return ResponseFormat(ResponseFormatType.JSON_OBJECT)
    if wire.type == "json_schema":
        schema = wire.json_schema
        if schema is None or schema.schema_ is None:
            raise InvalidParameter(
                "response_format of type 'json_schema' needs 'json_schema.schema'.",
                param="response_format",
            )
        return ResponseFormat(
            ResponseFormatType.JSON_SCHEMA,
            name=schema.name,
            schema=schema.schema_,
            strict=bool(schema.strict),
        )
    raise InvalidParameter(
        f"The response_format type '{wire.type}' is not supported; use text, json_object "
        "or json_schema.",
        param="response_format",
    )


def _all_text(message: Message) -> str:
    texts = [message.text]
    texts += [p.text for p in message.parts if isinstance(p, ToolResultPart)]
    return " ".join(texts)
