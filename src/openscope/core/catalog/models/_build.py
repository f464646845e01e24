"""Shared pieces of the built-in model list: token-limit shorthands, thinking-mode
shorthands and the generic entry builders the family modules use."""

from __future__ import annotations

import re

from openscope.core.catalog.spec import Capabilities, ModelSpec, SamplingDefaults, ThinkingMode

_NONE = ThinkingMode.NONE
_OPTIONAL = ThinkingMode.OPTIONAL
_ONLY = ThinkingMode.ONLY

_1M = 1_000_000
_256K = 262_144
_128K = 131_072
_64K = 65_536
_32K = 32_768
_16K = 16_384
_8K = 8_192

_SNAPSHOT_DATE = re.compile(r"-\d{4}-\d{2}-\d{2}")


def _model(
    name: str,
    family: str,
    context: int,
    output: int,
    *,
    max_input: int | None = None,
    max_thinking: int | None = None,
    thinking: ThinkingMode = _NONE,
    thinking_default: bool = False,
    stream_only: bool = False,
    tools: bool = True,
    vision: bool = False,
    audio: bool = False,
    n: bool = False,
    logprobs: bool = False,
    search: bool = False,
    json_schema: bool = True,
    effort: bool = False,
    top_k: int | None = 20,
    presence: float = 0.0,
    presence_thinking: float | None = None,
    description: str = "",
) -> ModelSpec:
    """One catalogue entry. The keyword defaults are the "All other models" values."""
    return ModelSpec(
        name=name,
        family=family,
        context_length=context,
        max_output_tokens=output,
        max_input_tokens=max_input,
        max_thinking_tokens=max_thinking,
        capabilities=Capabilities(
            thinking=thinking,
            thinking_default=thinking_default,
            thinking_stream_only=stream_only,
            tools=tools,
            vision=vision,
            audio=audio,
            multiple_choices=n,
            logprobs=logprobs,
            search=search,
            json_schema=json_schema,
            effort=effort,
        ),
        defaults=SamplingDefaults(
            top_k=top_k,
            presence_penalty=presence,
            presence_penalty_thinking=presence_thinking,
        ),
        description=description,
    )


def _describe(name: str, what: str) -> str:
    """`what` with a note for `-latest` aliases and dated snapshots."""
    if name.endswith("-latest"):
        return f"{what} (latest alias, follows the newest snapshot)"
    if _SNAPSHOT_DATE.search(name):
        return f"{what} (dated snapshot)"
    return what
