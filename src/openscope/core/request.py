"""`GenerateRequest`: the one request type every protocol decodes into."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from openscope.core.builtin_tools import BuiltinTool
from openscope.core.messages import CacheControl, Message


@dataclass(frozen=True, slots=True)
class SamplingParams:
    """How tokens are drawn. `None` means "the model's default"; `top_k=0` turns top-k off."""

    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    seed: int | None = None
    max_tokens: int | None = None
    stop: tuple[str, ...] = ()
    # Stop sequences given as token ids (Model Studio accepts ids or lists of ids).
    stop_token_ids: tuple[tuple[int, ...], ...] = ()
    n: int = 1
    logprobs: bool = False
    top_logprobs: int = 0


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A function the model may call; `parameters` is a JSON Schema object."""

    name: str
    description: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    strict: bool = False
    cache_control: CacheControl | None = None


class ToolChoiceMode(StrEnum):
    AUTO = "auto"
    NONE = "none"
    REQUIRED = "required"  # any tool (chat "required", Anthropic "any")
    NAMED = "named"  # exactly the tool in `name`


@dataclass(frozen=True, slots=True)
class ToolChoice:
    mode: ToolChoiceMode = ToolChoiceMode.AUTO
    name: str | None = None
    # Responses API "allowed tools": restrict the callable set without removing definitions.
    allowed: tuple[str, ...] | None = None


class ResponseFormatType(StrEnum):
    TEXT = "text"
    JSON_OBJECT = "json_object"
    JSON_SCHEMA = "json_schema"


@dataclass(frozen=True, slots=True)
class ResponseFormat:
    type: ResponseFormatType = ResponseFormatType.TEXT
    name: str | None = None
    schema: dict[str, Any] | None = None
    strict: bool = False


@dataclass(frozen=True, slots=True)
class ThinkingConfig:
    """`enabled=None` means the model's default; `budget_tokens=None` the model's maximum."""

    enabled: bool | None = None
    budget_tokens: int | None = None
    effort: str | None = None


@dataclass(frozen=True, slots=True)
class AudioOutput:
    """How a spoken answer is asked for (chat's `audio`, with `modalities` holding
    "audio"): the voice and the audio format, as the client named them."""

    voice: str
    format: str


@dataclass(frozen=True, slots=True)
class GenerateRequest:
    """What to generate, independent of the wire format it arrived in.

    `model` is the name the client asked for; the engine resolves it to a backend.
    """

    model: str
    messages: tuple[Message, ...]
    sampling: SamplingParams = field(default_factory=SamplingParams)
    tools: tuple[ToolSpec, ...] = ()
    tool_choice: ToolChoice = field(default_factory=ToolChoice)
    parallel_tool_calls: bool = True
    response_format: ResponseFormat = field(default_factory=ResponseFormat)
    thinking: ThinkingConfig = field(default_factory=ThinkingConfig)
    # Tools the server runs itself (chat's enable_search and enable_code_interpreter, the
    # Responses API's built-in tool types); kept apart from the function tools in `tools`
    # so that a backend that only renders function tools cannot mistake one for the other.
    builtin_tools: tuple[BuiltinTool, ...] = ()
    output_modalities: tuple[str, ...] = ("text",)
    # The voice and format of a spoken answer: only with "audio" in `output_modalities`
    # (the decoders see to it); None there, the model's default voice.
    audio: AudioOutput | None = None
    # Responses' `x-dashscope-session-cache: enable`: cache the conversation explicitly.
    session_cache: bool = False
    # Chat's `vl_high_resolution_images`: read each image at up to 16,384 tokens instead of
    # Model Studio's default 1,280 (28x28-pixel patches each).
    high_resolution_images: bool = False
    # Model Studio's partial mode: the last message is an assistant prefix that the answer
    # continues (the answer holds only the continuation). Decoders set it only when the
    # last message is an assistant one.
    partial: bool = False

    @property
    def callable_tools(self) -> tuple[ToolSpec, ...]:
        """The function tools the model may call: all of them, or those Responses'
        `allowed_tools` names (the model is shown no others)."""
        allowed = self.tool_choice.allowed
        if allowed is None:
            return self.tools
        return tuple(t for t in self.tools if t.name in allowed)
