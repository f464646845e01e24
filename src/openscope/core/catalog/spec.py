"""What the catalogue knows about one model."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class ThinkingMode(StrEnum):
    NONE = "none"  # no thinking: enable_thinking=true is an error
    OPTIONAL = "optional"  # hybrid: thinking on or off, `thinking_default` when unset
    ONLY = "only"  # always thinks: enable_thinking=false is an error


@dataclass(frozen=True, slots=True)
class Capabilities:
    thinking: ThinkingMode = ThinkingMode.NONE
    thinking_default: bool = False
    # Thinking models that Model Studio serves only as a stream while thinking.
    thinking_stream_only: bool = False
    tools: bool = True
    vision: bool = False
    audio: bool = False
    multiple_choices: bool = False  # n > 1
    logprobs: bool = False
    search: bool = False
    json_schema: bool = True
    # A reasoning-effort setting (Anthropic-compatible `output_config.effort`).
    effort: bool = False


@dataclass(frozen=True, slots=True)
class SamplingDefaults:
    """Per-model defaults Model Studio documents. `presence_penalty_thinking` applies when
    the model thinks (several hybrid models use a different default then)."""

    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = 20
    presence_penalty: float = 0.0
    presence_penalty_thinking: float | None = None


@dataclass(frozen=True, slots=True)
class ModelSpec:
    name: str
    family: str
    context_length: int
    max_output_tokens: int
    max_input_tokens: int | None = None
    max_thinking_tokens: int | None = None
    capabilities: Capabilities = field(default_factory=Capabilities)
    defaults: SamplingDefaults = field(default_factory=SamplingDefaults)
    description: str = ""

    @property
    def input_limit(self) -> int:
        return self.max_input_tokens or self.context_length
