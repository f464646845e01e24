"""A core request as the upstream's Chat Completions body, in its dialect. Streamed, with
usage asked for (a non-streaming client gets the folded stream, and usage is complete
whether or not the client asked for it), except from an engine whose stream carries no
usage, which is asked for the whole answer."""

from __future__ import annotations

import copy
from typing import Any

from openscope.backends.openai_upstream.dialect import Dialect
from openscope.core.builtin_tools import (
    BuiltinTool,
    BuiltinToolKind,
    CodeInterpreter,
    WebExtractor,
    WebSearch,
)
from openscope.core.errors import InvalidParameter
from openscope.core.messages import (
    AudioPart,
    CacheControl,
    ImagePart,
    Message,
    ReasoningPart,
    Role,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from openscope.core.request import GenerateRequest, ResponseFormatType, ToolChoiceMode
from openscope.core.rules.capabilities import has_images

JSON = dict[str, Any]


def _cache(control: CacheControl | None, dialect: Dialect) -> JSON:
    # Only Model Studio reads content-block cache markers; other engines cache by prefix.
    if control is None or not dialect.model_studio:
        return {}
    marker: JSON = {"type": control.type}
    return {"cache_control": marker}


def _content(parts: tuple[Any, ...], dialect: Dialect) -> str | list[JSON]:
    blocks: list[JSON] = []
    for part in parts:
        if isinstance(part, TextPart):
            blocks.append(
                {"type": "text", "text": part.text, **_cache(part.cache_control, dialect)}
            )
        elif isinstance(part, ImagePart):
            image: JSON = {"url": part.url}
            if part.detail:
                image["detail"] = part.detail
            marker = _cache(part.cache_control, dialect)
            blocks.append({"type": "image_url", "image_url": image, **marker})
        elif isinstance(part, AudioPart):
            audio = {"data": part.data, "format": part.format}
            blocks.append({"type": "input_audio", "input_audio": audio})
    if all(b["type"] == "text" and "cache_control" not in b for b in blocks):
        return "".join(b["text"] for b in blocks)  # the plain form every engine takes
    return blocks


def _system_first(messages: tuple[Message, ...]) -> tuple[Message, ...]:
    """All system text in one message at the start, in the order given; the rest as it was."""
    systems = [m for m in messages if m.role is Role.SYSTEM]
    if len(systems) <= 1 and (not systems or messages[0] is systems[0]):
        return messages
    parts: list[Any] = []
    for index, system in enumerate(systems):
        if index:
            parts.append(TextPart("\n\n"))
        parts.extend(system.parts)
    rest = tuple(m for m in messages if m.role is not Role.SYSTEM)
    return (Message(Role.SYSTEM, tuple(parts)), *rest)


def wire_messages(messages: tuple[Message, ...], dialect: Dialect) -> list[JSON]:
    if dialect.system_first:
        messages = _system_first(messages)
    out: list[JSON] = []
    for message in messages:
        if message.role is Role.TOOL or any(isinstance(p, ToolResultPart) for p in message.parts):
            for part in message.parts:
                if isinstance(part, ToolResultPart):
                    out.append(
                        {
                            "role": "tool",
                            "tool_call_id": part.tool_call_id,
                            "content": _content(part.content, dialect),
                        }
                    )
            continue
        body: JSON = {"role": str(message.role)}
        visible = tuple(p for p in message.parts if isinstance(p, TextPart | ImagePart | AudioPart))
        body["content"] = _content(visible, dialect)
        calls = [p for p in message.parts if isinstance(p, ToolCallPart)]
        if calls:
            body["tool_calls"] = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": c.arguments},
                }
                for c in calls
            ]
            if not body["content"]:
                body["content"] = None
        reasoning = "".join(p.text for p in message.parts if isinstance(p, ReasoningPart))
        if reasoning and dialect.accepts_reasoning_history:
            body["reasoning_content"] = reasoning
        if message.name:
            body["name"] = message.name
        out.append(body)
    return out


def _tool_choice(request: GenerateRequest, dialect: Dialect) -> Any:
    choice = request.tool_choice
    match choice.mode:
        case ToolChoiceMode.AUTO:
            return "auto"
        case ToolChoiceMode.NONE:
            return "none"
        case ToolChoiceMode.REQUIRED:
            return "required"
        case ToolChoiceMode.NAMED:
            if not dialect.named_tool_choice:
                return "required"  # with the named tool alone (chat_body)
            return {"type": "function", "function": {"name": choice.name}}


def _response_format(request: GenerateRequest) -> JSON | None:
    fmt = request.response_format
    match fmt.type:
        case ResponseFormatType.TEXT:
            return None
        case ResponseFormatType.JSON_OBJECT:
            return {"type": "json_object"}
        case ResponseFormatType.JSON_SCHEMA:
            schema: JSON = {"name": fmt.name or "response", "schema": fmt.schema or {}}
            schema["strict"] = fmt.strict
            return {"type": "json_schema", "json_schema": schema}


def chat_body(
    request: GenerateRequest, model: str, dialect: Dialect, *, can_think: bool = True
) -> JSON:
    """`can_think`: whether the model thinks at all; a model that cannot is sent no
    thinking switch (an engine may refuse `reasoning_effort` from such a model)."""
    sampling = request.sampling
    body: JSON = {"model": model, "messages": wire_messages(request.messages, dialect)}
    if dialect.streamed_usage:
        body.update(stream=True, stream_options={"include_usage": True})
    else:
        body["stream"] = False  # the whole answer, which carries its usage
    optional = {
        "temperature": sampling.temperature,
        "top_p": sampling.top_p,
        "presence_penalty": sampling.presence_penalty,
        "frequency_penalty": sampling.frequency_penalty,
        "seed": sampling.seed,
        "max_tokens": sampling.max_tokens,
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    if sampling.top_k is not None and dialect.top_k:
        body["top_k"] = sampling.top_k
    stops = list(sampling.stop)
    if stops:
        body["stop"] = stops
    if sampling.stop_token_ids:  # single ids only: the backend refuses sequences
        body["stop_token_ids"] = [seq[0] for seq in sampling.stop_token_ids]
    if sampling.n > 1:
        body["n"] = sampling.n
    if sampling.logprobs:
        body["logprobs"] = True
        if sampling.top_logprobs:
            body["top_logprobs"] = sampling.top_logprobs
    # Responses' allowed_tools: the model sees only the tools it may call.
    tools = request.callable_tools
    choice = request.tool_choice
    if choice.mode is ToolChoiceMode.NAMED and not dialect.named_tool_choice:
        tools = tuple(t for t in tools if t.name == choice.name)
    if tools:
        body["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": t.name,
                    **({"description": t.description} if t.description else {}),
                    "parameters": t.parameters or {"type": "object", "properties": {}},
                    **({"strict": True} if t.strict else {}),
                },
            }
            for t in tools
        ]
        body["tool_choice"] = _tool_choice(request, dialect)
        body["parallel_tool_calls"] = request.parallel_tool_calls
    response_format = _response_format(request)
    if response_format is not None:
        body["response_format"] = response_format
    thinking = request.thinking
    if thinking.enabled is not None and can_think:
        body.update(dialect.thinking(thinking.enabled, thinking.budget_tokens))
    if thinking.effort is not None:
        body["reasoning_effort"] = thinking.effort
    if "audio" in request.output_modalities:  # refused where the engine cannot speak
        body["modalities"] = list(request.output_modalities)
        if request.audio is not None:
            body["audio"] = {"voice": request.audio.voice, "format": request.audio.format}
    if dialect.model_studio:
        body.update(_model_studio_tools(request))
    switch = dialect.high_resolution_images  # None: refused by `check_high_resolution`
    if request.high_resolution_images and switch is not None and has_images(request):
        body.update(copy.deepcopy(dict(switch)))
    if request.partial:
        body.update(_partial(body["messages"], dialect))
    return body


def check_high_resolution(request: GenerateRequest, dialect: Dialect) -> None:
    """Refuse `vl_high_resolution_images` with images where the engine has no such switch
    (without images the switch changes nothing, as on Model Studio)."""
    wanted = request.high_resolution_images and has_images(request)
    if wanted and dialect.high_resolution_images is None:
        raise InvalidParameter(
            f"vl_high_resolution_images is not supported by this model's upstream "
            f"({dialect.name}).",
            param="vl_high_resolution_images",
        )


def _partial(messages: list[JSON], dialect: Dialect) -> JSON:
    """Continue the final assistant message, as each engine spells it. (llama-server
    continues a final assistant message by itself; `PARTIAL_DIALECTS` lists who can.)"""
    if dialect.model_studio:
        messages[-1]["partial"] = True
        return {}
    if dialect.name in ("vllm", "sglang"):
        return {"continue_final_message": True, "add_generation_prompt": False}
    return {}


def _model_studio_tools(request: GenerateRequest) -> JSON:
    """Model Studio runs chat's built-in tools itself: its own switches, unchanged. What
    its switches cannot carry is refused, never dropped."""
    extra: JSON = {}
    reads_pages = any(isinstance(t, WebSearch) and t.reads_pages for t in request.builtin_tools)
    for tool in request.builtin_tools:
        problem = _model_studio_problem(tool, reads_pages)
        if problem is not None:
            raise InvalidParameter(problem, param="tools")
        if isinstance(tool, WebSearch):
            extra["enable_search"] = True
            if tool.options:
                extra["search_options"] = tool.options
        elif isinstance(tool, CodeInterpreter):
            extra["enable_code_interpreter"] = True
        # a WebExtractor rides on the agent_max strategy, which search_options carry
    return extra


def _model_studio_problem(tool: BuiltinTool, reads_pages: bool) -> str | None:
    if isinstance(tool, WebSearch):
        # Anthropic's web search tool's limits and filters have no switch there.
        for name, value in (
            ("max_uses", tool.max_uses),
            ("blocked_domains", tool.blocked_sites),
            ("user_location", tool.user_location),
        ):
            if value:
                return f"The web search of this model's upstream does not support {name}."
    elif isinstance(tool, CodeInterpreter) and tool.container_id is not None:
        return "The code interpreter of this model's upstream does not take a container id."
    elif isinstance(tool, WebExtractor) and not reads_pages:
        return "This model's upstream reads pages only under chat's agent_max search strategy."
    return None


# The engines that can continue a final assistant message (chat's partial mode).
PARTIAL_DIALECTS = frozenset({"dashscope", "vllm", "sglang", "llama-server"})

# The built-in tools a Model Studio upstream runs through chat's switches.
MODEL_STUDIO_TOOLS = frozenset(
    {BuiltinToolKind.WEB_SEARCH, BuiltinToolKind.WEB_EXTRACTOR, BuiltinToolKind.CODE_INTERPRETER}
)
