"""Open-source and third-party models: Qwen3 and Qwen2.5 open source, and DeepSeek."""

from __future__ import annotations

from openscope.core.catalog.models._build import (
    _1M,
    _8K,
    _16K,
    _32K,
    _64K,
    _128K,
    _ONLY,
    _OPTIONAL,
    _describe,
    _model,
)
from openscope.core.catalog.spec import ModelSpec


# --- Qwen3 open source ---------------------------------------------------------------------------
# Hybrid models think by default and, thinking, answer only as a stream (BEHAVIOUR.md).
# 8b and larger: 131,072 context / 129,024 input (98,304 thinking) / 38,912 thinking /
# 16,384 output. 4b and smaller: 32,768 / 30,720 (28,672 thinking) / 30,720 thinking / 8,192.
# *-thinking-2507 and qwen3-next-*-thinking: thinking only, 131,072 / 126,976 / 81,920 /
# 32,768. *-instruct-2507 and qwen3-next-*-instruct: no thinking, 131,072 / 129,024 / 32,768.
# n: "Qwen3 (non-thinking mode)"; logprobs: "Qwen3 open source models".
# presence_penalty: non-thinking / Instruct series 1.5; thinking mode 1.5 for 0.6b/1.7b/4b and
# 0.5 for 8b/14b/32b/30b-a3b/235b-a22b; thinking-only models "all other" 0.0.
def _qwen3_hybrid(name: str, *, small: bool = False) -> ModelSpec:
    return _model(
        name,
        "qwen3",
        _32K if small else _128K,
        _8K if small else _16K,
        max_input=30_720 if small else 129_024,
        max_thinking=30_720 if small else 38_912,
        thinking=_OPTIONAL,
        thinking_default=True,
        stream_only=True,
        n=True,
        logprobs=True,
        presence=1.5,
        presence_thinking=1.5 if small else 0.5,
        description=_describe(name, "Qwen3 open-source hybrid-thinking model"),
    )


def _qwen3_thinking(name: str) -> ModelSpec:
    return _model(
        name,
        "qwen3",
        _128K,
        _32K,
        max_input=126_976,
        max_thinking=81_920,
        thinking=_ONLY,
        thinking_default=True,
        stream_only=True,
        logprobs=True,
        json_schema=False,
        description=_describe(name, "Qwen3 open-source thinking-only model"),
    )


def _qwen3_instruct(name: str) -> ModelSpec:
    return _model(
        name,
        "qwen3",
        _128K,
        _32K,
        max_input=129_024,
        n=True,
        logprobs=True,
        presence=1.5,
        description=_describe(name, "Qwen3 open-source instruct model (no thinking)"),
    )


# --- Qwen2.5 open source: no thinking ------------------------------------------------------------
# 7b and larger: 131,072 / 129,024 / 8,192; 3b and smaller: 32,768 / 30,720 / 8,192;
# *-instruct-1m: 1,000,000 context (input up to the whole window) / 8,192 output.
def _qwen25(name: str, context: int, max_input: int | None) -> ModelSpec:
    return _model(
        name,
        "qwen2.5",
        context,
        _8K,
        max_input=max_input,
        description="Qwen2.5 open-source instruct model",
    )


# --- Third-party: DeepSeek ------------------------------------------------------------------------
# deepseek-v4-pro / -flash: hybrid, thinking on by default (DeepSeek's own default), 1,000,000
# context and 384,000 output per DeepSeek's model card; Model Studio's own limits unverified.
# deepseek-v3.2: hybrid, thinking off by default, 131,072 context / 98,304 input /
# 32,768 thinking / 65,536 output (unverified).
def _deepseek(
    name: str,
    context: int,
    output: int,
    *,
    max_input: int | None = None,
    max_thinking: int | None = None,
    thinking_default: bool,
    effort: bool = False,
) -> ModelSpec:
    return _model(
        name,
        "deepseek",
        context,
        output,
        max_input=max_input,
        max_thinking=max_thinking,
        thinking=_OPTIONAL,
        thinking_default=thinking_default,
        effort=effort,
        description=f"DeepSeek {name.removeprefix('deepseek-').upper()} (third-party model)",
    )


OPEN_SOURCE_MODELS: tuple[ModelSpec, ...] = (
    # Qwen3 open source
    _qwen3_hybrid("qwen3-235b-a22b"),
    _qwen3_hybrid("qwen3-32b"),
    _qwen3_hybrid("qwen3-30b-a3b"),
    _qwen3_hybrid("qwen3-14b"),
    _qwen3_hybrid("qwen3-8b"),
    _qwen3_hybrid("qwen3-4b", small=True),
    _qwen3_hybrid("qwen3-1.7b", small=True),
    _qwen3_hybrid("qwen3-0.6b", small=True),
    _qwen3_thinking("qwen3-235b-a22b-thinking-2507"),
    _qwen3_thinking("qwen3-30b-a3b-thinking-2507"),
    _qwen3_thinking("qwen3-next-80b-a3b-thinking"),
    _qwen3_instruct("qwen3-235b-a22b-instruct-2507"),
    _qwen3_instruct("qwen3-30b-a3b-instruct-2507"),
    _qwen3_instruct("qwen3-next-80b-a3b-instruct"),
    # Qwen2.5 open source
    _qwen25("qwen2.5-72b-instruct", _128K, 129_024),
    _qwen25("qwen2.5-32b-instruct", _128K, 129_024),
    _qwen25("qwen2.5-14b-instruct", _128K, 129_024),
    _qwen25("qwen2.5-7b-instruct", _128K, 129_024),
    _qwen25("qwen2.5-3b-instruct", _32K, 30_720),
    _qwen25("qwen2.5-1.5b-instruct", _32K, 30_720),
    _qwen25("qwen2.5-0.5b-instruct", _32K, 30_720),
    _qwen25("qwen2.5-14b-instruct-1m", _1M, None),
    _qwen25("qwen2.5-7b-instruct-1m", _1M, None),
    # Third-party
    # The Anthropic-compatible API's effort setting exists only for these two (seed).
    _deepseek("deepseek-v4-pro", _1M, 384_000, thinking_default=True, effort=True),
    _deepseek("deepseek-v4-flash", _1M, 384_000, thinking_default=True, effort=True),
    _deepseek(
        "deepseek-v3.2", _128K, _64K, max_input=98_304, max_thinking=_32K, thinking_default=False
    ),
)
