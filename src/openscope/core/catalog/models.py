"""The built-in model list: every model name the Model Studio documents name, plus the
embedded model openscope itself serves.

Sources, in order of authority:

* The seed documents (the OpenAI-compatible chat guide's supported-model lists, the Anthropic
  and Responses API model lists, the chat reference and the parameter reference). Every model
  name they write is here; where they only name a family ("QVQ series", "Qwen3-Omni-Flash
  series") the family's base names are here so its documented defaults are represented.
* Sampling defaults (`top_k`, `presence_penalty`) follow the parameter reference's
  "Default top_k values" and "Default presence_penalty values" lists to the letter; a model
  those lists do not name gets the "All other models" value (top_k 20, presence_penalty 0.0).
* Capabilities: `n` (multiple_choices) and `logprobs` follow the parameter reference's lists;
  thinking modes and thinking defaults follow the Model Studio model list and deep-thinking
  guide; streaming-only thinking follows spec/BEHAVIOUR.md (open-source Qwen3, QwQ, QVQ).
* Token limits come from Model Studio's public model list (context window, maximum input,
  maximum chain-of-thought, maximum output). Where a model has different limits with thinking
  on and off, the larger (non-thinking) maximum input is recorded. Limits marked
  "(unverified)" are best estimates.

Everything here is immutable: tuples of frozen dataclasses built once at import time.
"""

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


# --- Qwen-Max (Qwen2.5-Max): no thinking, commercial, web search -------------------------------
# Model list: qwen-max and its 2024-09-19 snapshot 32,768 context / 30,720 input / 8,192 output;
# qwen-max-latest and the 2025-01-25 snapshot 131,072 / 129,024 / 8,192.
# presence_penalty 1.5 for "qwen-max, qwen-max-latest" only; the snapshots are "all other".
def _qwen_max(name: str, context: int, max_input: int, *, presence: float = 0.0) -> ModelSpec:
    return _model(
        name,
        "qwen-max",
        context,
        _8K,
        max_input=max_input,
        search=True,
        presence=presence,
        description=_describe(name, "Qwen-Max (Qwen2.5-Max), commercial flagship"),
    )


# --- Qwen3-Max: commercial, 262,144 context / 258,048 input / 65,536 output --------------------
# The 2026-01-23 snapshot (which the stable name follows) and the preview are hybrid thinkers,
# thinking off by default, 81,920 chain-of-thought tokens; the 2025-09-23 snapshot cannot think.
# qwen3-max-preview defaults to presence_penalty 1.5 in thinking mode.
def _qwen3_max(
    name: str, thinking: ThinkingMode, *, presence_thinking: float | None = None
) -> ModelSpec:
    return _model(
        name,
        "qwen-max",
        _256K,
        _64K,
        max_input=258_048,
        max_thinking=81_920 if thinking is not _NONE else None,
        thinking=thinking,
        search=True,
        presence_thinking=presence_thinking,
        description=_describe(name, "Qwen3-Max, commercial flagship"),
    )


# --- Qwen3.6: natively multimodal hybrid thinkers, thinking on by default ----------------------
# qwen3.6-plus / -flash: 1,000,000 context, 65,536 output, 81,920 chain-of-thought; input
# 991,808 as for Qwen3.5-Plus (unverified). qwen3.6-max-preview: text only, 262,144 context
# (unverified). qwen3.6-27b: open source, 262,144 native context (model card).
# presence_penalty: "qwen3.6-plus/qwen3.6-plus-2026-04-02: 0.5" (no mode given, so both modes);
# every other Qwen3.6 model falls under "all other models".
def _qwen36(
    name: str,
    context: int,
    max_input: int,
    *,
    vision: bool = True,
    search: bool = True,
    presence: float = 0.0,
    what: str,
) -> ModelSpec:
    return _model(
        name,
        "qwen3.6",
        context,
        _64K,
        max_input=max_input,
        max_thinking=81_920,
        thinking=_OPTIONAL,
        thinking_default=True,
        vision=vision,
        search=search,
        presence=presence,
        presence_thinking=presence if presence else None,
        description=_describe(name, what),
    )


# --- Qwen3.5: natively multimodal hybrid thinkers, thinking on by default ----------------------
# qwen3.5-plus / -flash: 1,000,000 context / 991,808 input / 65,536 output / 81,920 thinking.
# Open-source qwen3.5-*: 262,144 context / 258,048 input / 65,536 output / 81,920 thinking.
# presence_penalty: "Qwen3.5 (non-thinking mode): 1.5"; in thinking mode
# "qwen3.5-plus/qwen3.5-plus-latest/...: 0.5", all other Qwen3.5 models 0.0.
def _qwen35(
    name: str,
    *,
    open_source: bool = False,
    presence_thinking: float = 0.0,
    what: str,
) -> ModelSpec:
    return _model(
        name,
        "qwen3.5",
        _256K if open_source else _1M,
        _64K,
        max_input=258_048 if open_source else 991_808,
        max_thinking=81_920,
        thinking=_OPTIONAL,
        thinking_default=True,
        vision=True,
        search=not open_source,
        presence=1.5,
        presence_thinking=presence_thinking,
        description=_describe(name, what),
    )


# --- Qwen-Plus: commercial Qwen3 hybrid thinker, thinking off by default -----------------------
# Current generation (stable, latest, 2025-07-28 and later snapshots, US deployment):
# 1,000,000 context / 997,952 input / 32,768 output / 81,920 thinking.
# 2025-04-28 and 2025-07-14 snapshots: 131,072 / 129,024 / 16,384 / 38,912 thinking.
# 2024-12-20 and 2025-01-25 snapshots (Qwen2.5): 131,072 / 129,024 / 8,192, no thinking.
# n: the chat guide allows n only on qwen-plus. logprobs: dated snapshots only, not the stable
# name (nor -latest). The seed's "qwen3.5-plus/qwen3.5-plus-latest/2025-04-28 (thinking mode):
# 0.5" names no Qwen3.5 snapshot of that date; read alongside "qwen-turbo/.../2025-04-28" it
# means the Qwen3 snapshot qwen-plus-2025-04-28, which gets 0.5 in thinking mode.
def _qwen_plus(
    name: str,
    generation: str = "1m",
    *,
    presence_thinking: float | None = None,
) -> ModelSpec:
    snapshot = name not in ("qwen-plus", "qwen-plus-latest", "qwen-plus-us")
    what = "Qwen-Plus, commercial Qwen3 hybrid-thinking model"
    if generation == "1m":
        return _model(
            name,
            "qwen-plus",
            _1M,
            _32K,
            max_input=997_952,
            max_thinking=81_920,
            thinking=_OPTIONAL,
            search=True,
            n=True,
            logprobs=snapshot,
            presence_thinking=presence_thinking,
            description=_describe(name, what),
        )
    if generation == "128k":
        return _model(
            name,
            "qwen-plus",
            _128K,
            _16K,
            max_input=129_024,
            max_thinking=38_912,
            thinking=_OPTIONAL,
            search=True,
            n=True,
            logprobs=snapshot,
            presence_thinking=presence_thinking,
            description=_describe(name, what),
        )
    return _model(
        name,
        "qwen-plus",
        _128K,
        _8K,
        max_input=129_024,
        search=True,
        n=True,
        logprobs=snapshot,
        description=_describe(name, "Qwen-Plus (Qwen2.5 generation), commercial"),
    )


# --- Qwen-Flash: commercial Qwen3 hybrid thinker, thinking off by default ----------------------
# 1,000,000 context / 997,952 input / 32,768 output / 81,920 thinking (all deployments).
def _qwen_flash(name: str) -> ModelSpec:
    return _model(
        name,
        "qwen-flash",
        _1M,
        _32K,
        max_input=997_952,
        max_thinking=81_920,
        thinking=_OPTIONAL,
        search=True,
        n=True,
        description=_describe(name, "Qwen-Flash, fast commercial Qwen3 hybrid-thinking model"),
    )


# --- Qwen-Turbo ---------------------------------------------------------------------------------
# Qwen3 generation (stable, latest, 2025-04-28): hybrid, thinking off by default, 1,000,000
# context without thinking (131,072 with), 16,384 output, 38,912 thinking.
# 2024-11-01 snapshot (Qwen2.5-Turbo): 1,000,000 context, 8,192 output, no thinking.
# presence_penalty "qwen-turbo/qwen-turbo/2025-04-28 (thinking mode): 0.5"; the repeated name is
# read as qwen-turbo-latest, which follows the same model. logprobs: dated snapshots only.
def _qwen_turbo(name: str, *, qwen3: bool = True) -> ModelSpec:
    snapshot = name not in ("qwen-turbo", "qwen-turbo-latest")
    if not qwen3:
        return _model(
            name,
            "qwen-turbo",
            _1M,
            _8K,
            search=True,
            logprobs=snapshot,
            description=_describe(name, "Qwen-Turbo (Qwen2.5 generation), commercial"),
        )
    return _model(
        name,
        "qwen-turbo",
        _1M,
        _16K,
        max_thinking=38_912,
        thinking=_OPTIONAL,
        search=True,
        n=True,
        logprobs=snapshot,
        presence_thinking=0.5,
        description=_describe(name, "Qwen-Turbo, commercial Qwen3 hybrid-thinking model"),
    )


# --- Qwen-Coder: no thinking ---------------------------------------------------------------------
# qwen3-coder-plus / -flash: 1,000,000 context / 997,952 input / 65,536 output.
# qwen3-coder-next (open source, 80B-A3B): 262,144 / 258,048 / 65,536 (unverified).
# qwen-coder-plus / -turbo (Qwen2.5-Coder): 131,072 / 129,024 / 8,192.
def _qwen_coder(name: str, context: int, max_input: int, output: int, what: str) -> ModelSpec:
    return _model(
        name,
        "qwen-coder",
        context,
        output,
        max_input=max_input,
        description=_describe(name, what),
    )


# --- QwQ: thinking only, streaming only, top_k 40 -----------------------------------------------
# 131,072 context / 98,304 input / 32,768 chain-of-thought / 8,192 output.
def _qwq(name: str) -> ModelSpec:
    return _model(
        name,
        "qwq",
        _128K,
        _8K,
        max_input=98_304,
        max_thinking=_32K,
        thinking=_ONLY,
        thinking_default=True,
        stream_only=True,
        json_schema=False,
        top_k=40,
        description=_describe(name, "QwQ reasoning model (thinking only, streaming only)"),
    )


# --- QVQ: visual reasoning, thinking only, streaming only -----------------------------------------
# 131,072 context / 106,496 input / 16,384 chain-of-thought / 8,192 output. top_k 10 and
# presence_penalty 1.5 ("QVQ series"); the docs say not to change QVQ's sampling defaults.
def _qvq(name: str) -> ModelSpec:
    return _model(
        name,
        "qvq",
        _128K,
        _8K,
        max_input=106_496,
        max_thinking=_16K,
        thinking=_ONLY,
        thinking_default=True,
        stream_only=True,
        tools=False,
        vision=True,
        json_schema=False,
        top_k=10,
        presence=1.5,
        description=_describe(name, "QVQ visual reasoning model (thinking only, streaming only)"),
    )


# --- Qwen-VL (Qwen2.5-VL generation): no thinking, no function calling --------------------------
# 131,072 context / 129,024 input / 8,192 output.
# top_k: qwen-vl-plus-2025-07-10 and -2025-08-15 10; other qwen-vl-plus models, qwen-vl-max
# models before 2025-08-13 and (as earlier VL models) the open-source qwen2.5-vl series 1;
# qwen-vl-max 2025-08-13 and the names that follow it 20.
# presence_penalty: qwen-vl-max series, qwen-vl-plus, qwen2.5-vl series 1.5; qwen-vl-plus-latest
# and -2025-08-15 1.2; -2025-01-25 1.0; -2025-07-10 "all other" 0.0.
def _qwen_vl(name: str, *, top_k: int, presence: float, what: str) -> ModelSpec:
    return _model(
        name,
        "qwen-vl",
        _128K,
        _8K,
        max_input=129_024,
        tools=False,
        vision=True,
        top_k=top_k,
        presence=presence,
        description=_describe(name, what),
    )


# --- Qwen3-VL: hybrid thinkers, thinking off by default ------------------------------------------
# 262,144 context / 260,096 input (258,048 thinking) / 32,768 output / 81,920 thinking.
# logprobs: "Qwen3-vl-plus / Qwen3-vl-flash models (including the stable model)".
# presence_penalty "Qwen3-VL (non-thinking): 1.5", thinking mode falls under "all other".
def _qwen3_vl(name: str) -> ModelSpec:
    return _model(
        name,
        "qwen-vl",
        _256K,
        _32K,
        max_input=260_096,
        max_thinking=81_920,
        thinking=_OPTIONAL,
        vision=True,
        logprobs=True,
        presence=1.5,
        presence_thinking=0.0,
        description=_describe(name, "Qwen3-VL, commercial vision-language hybrid thinker"),
    )


# --- Qwen-Omni: text, image, audio and video in; text and audio out -----------------------------
# qwen3-omni-flash: hybrid, thinking off by default, 65,536 context / 49,152 input /
# 32,768 thinking / 16,384 output, top_k 50 ("Qwen3-Omni-Flash series").
# qwen2.5-omni-7b and qwen-omni-turbo: 32,768 / 30,720 / 2,048, no thinking; qwen2.5-omni-7b
# has top_k 1, qwen-omni-turbo is "all other" (20).
def _qwen3_omni(name: str) -> ModelSpec:
    return _model(
        name,
        "qwen-omni",
        _64K,
        _16K,
        max_input=49_152,
        max_thinking=_32K,
        thinking=_OPTIONAL,
        vision=True,
        audio=True,
        json_schema=False,
        top_k=50,
        description=_describe(name, "Qwen3-Omni-Flash, omni-modal hybrid thinker"),
    )


def _qwen_omni_legacy(name: str, *, top_k: int, what: str) -> ModelSpec:
    return _model(
        name,
        "qwen-omni",
        _32K,
        2_048,
        max_input=30_720,
        tools=False,
        vision=True,
        audio=True,
        json_schema=False,
        top_k=top_k,
        description=_describe(name, what),
    )


# --- Qwen-Math: 4,096 context / 3,072 input / 3,072 output, no tools ----------------------------
def _qwen_math(name: str) -> ModelSpec:
    return _model(
        name,
        "qwen-math",
        4_096,
        3_072,
        max_input=3_072,
        tools=False,
        json_schema=False,
        description=_describe(name, "Qwen-Math, mathematics model"),
    )


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
        description=f"DeepSeek {name.removeprefix('deepseek-').upper()} (third-party model)",
    )


_QWEN36 = "Qwen3.6"
_QWEN35_PLUS = "Qwen3.5-Plus, commercial multimodal hybrid thinker"
_QWEN35_FLASH = "Qwen3.5-Flash, fast commercial multimodal hybrid thinker"
_QWEN35_OPEN = "Qwen3.5 open-source multimodal hybrid thinker"
_VL_MAX = "Qwen-VL-Max, vision-language model"
_VL_PLUS = "Qwen-VL-Plus, vision-language model"
_QWEN25_VL = "Qwen2.5-VL open-source vision-language model"
_Q3C_PLUS = "Qwen3-Coder-Plus, agentic coding model"
_Q3C_FLASH = "Qwen3-Coder-Flash, fast agentic coding model"
_QC_PLUS = "Qwen-Coder-Plus (Qwen2.5-Coder), coding model"
_QC_TURBO = "Qwen-Coder-Turbo (Qwen2.5-Coder), coding model"


BUILTIN_MODELS: tuple[ModelSpec, ...] = (
    # Qwen3.6
    _qwen36("qwen3.6-plus", _1M, 991_808, presence=0.5, what=f"{_QWEN36}-Plus, commercial"),
    _qwen36(
        "qwen3.6-plus-2026-04-02", _1M, 991_808, presence=0.5, what=f"{_QWEN36}-Plus, commercial"
    ),
    _qwen36("qwen3.6-flash", _1M, 991_808, what=f"{_QWEN36}-Flash, fast commercial"),
    _qwen36("qwen3.6-flash-2026-04-16", _1M, 991_808, what=f"{_QWEN36}-Flash, fast commercial"),
    _qwen36(
        "qwen3.6-max-preview",
        _256K,
        258_048,
        vision=False,
        what=f"{_QWEN36}-Max preview, commercial text flagship",
    ),
    _qwen36("qwen3.6-27b", _256K, 258_048, search=False, what=f"{_QWEN36} 27B open source"),
    # Qwen3.5
    _qwen35("qwen3.5-plus", presence_thinking=0.5, what=_QWEN35_PLUS),
    _qwen35("qwen3.5-plus-latest", presence_thinking=0.5, what=_QWEN35_PLUS),
    _qwen35("qwen3.5-plus-2026-02-15", what=_QWEN35_PLUS),
    _qwen35("qwen3.5-plus-2026-04-20", what=_QWEN35_PLUS),
    _qwen35("qwen3.5-flash", what=_QWEN35_FLASH),
    _qwen35("qwen3.5-flash-2026-02-23", what=_QWEN35_FLASH),
    _qwen35("qwen3.5-397b-a17b", open_source=True, what=_QWEN35_OPEN),
    _qwen35("qwen3.5-122b-a10b", open_source=True, what=_QWEN35_OPEN),
    _qwen35("qwen3.5-35b-a3b", open_source=True, what=_QWEN35_OPEN),
    _qwen35("qwen3.5-27b", open_source=True, what=_QWEN35_OPEN),
    # Qwen3-Max
    _qwen3_max("qwen3-max", _OPTIONAL),
    _qwen3_max("qwen3-max-2026-01-23", _OPTIONAL),
    _qwen3_max("qwen3-max-2025-09-23", _NONE),
    _qwen3_max("qwen3-max-preview", _OPTIONAL, presence_thinking=1.5),
    # Qwen-Max (Qwen2.5-Max)
    _qwen_max("qwen-max", _32K, 30_720, presence=1.5),
    _qwen_max("qwen-max-latest", _128K, 129_024, presence=1.5),
    _qwen_max("qwen-max-2025-01-25", _128K, 129_024),
    _qwen_max("qwen-max-2024-09-19", _32K, 30_720),
    # Qwen-Plus
    _qwen_plus("qwen-plus"),
    _qwen_plus("qwen-plus-latest"),
    _qwen_plus("qwen-plus-2025-12-01"),
    _qwen_plus("qwen-plus-2025-09-11"),
    _qwen_plus("qwen-plus-2025-07-28"),
    _qwen_plus("qwen-plus-2025-07-14", "128k"),
    _qwen_plus("qwen-plus-2025-04-28", "128k", presence_thinking=0.5),
    _qwen_plus("qwen-plus-2025-01-25", "qwen2.5"),
    _qwen_plus("qwen-plus-2024-12-20", "qwen2.5"),
    _qwen_plus("qwen-plus-us"),
    _qwen_plus("qwen-plus-2025-12-01-us"),
    # Qwen-Flash
    _qwen_flash("qwen-flash"),
    _qwen_flash("qwen-flash-2025-07-28"),
    _qwen_flash("qwen-flash-us"),
    _qwen_flash("qwen-flash-2025-07-28-us"),
    # Qwen-Turbo
    _qwen_turbo("qwen-turbo"),
    _qwen_turbo("qwen-turbo-latest"),
    _qwen_turbo("qwen-turbo-2025-04-28"),
    _qwen_turbo("qwen-turbo-2024-11-01", qwen3=False),
    # Qwen-Coder
    _qwen_coder("qwen3-coder-plus", _1M, 997_952, _64K, _Q3C_PLUS),
    _qwen_coder("qwen3-coder-plus-2025-09-23", _1M, 997_952, _64K, _Q3C_PLUS),
    _qwen_coder("qwen3-coder-plus-2025-07-22", _1M, 997_952, _64K, _Q3C_PLUS),
    _qwen_coder("qwen3-coder-flash", _1M, 997_952, _64K, _Q3C_FLASH),
    _qwen_coder("qwen3-coder-flash-2025-07-28", _1M, 997_952, _64K, _Q3C_FLASH),
    _qwen_coder(
        "qwen3-coder-next", _256K, 258_048, _64K, "Qwen3-Coder-Next, open-source coding model"
    ),
    _qwen_coder("qwen-coder-plus", _128K, 129_024, _8K, _QC_PLUS),
    _qwen_coder("qwen-coder-plus-latest", _128K, 129_024, _8K, _QC_PLUS),
    _qwen_coder("qwen-coder-plus-2024-11-06", _128K, 129_024, _8K, _QC_PLUS),
    _qwen_coder("qwen-coder-turbo", _128K, 129_024, _8K, _QC_TURBO),
    _qwen_coder("qwen-coder-turbo-latest", _128K, 129_024, _8K, _QC_TURBO),
    _qwen_coder("qwen-coder-turbo-2024-09-19", _128K, 129_024, _8K, _QC_TURBO),
    # QwQ
    _qwq("qwq-plus"),
    _qwq("qwq-plus-latest"),
    _qwq("qwq-plus-2025-03-05"),
    _qwq("qwq-32b"),
    # QVQ
    _qvq("qvq-max"),
    _qvq("qvq-max-latest"),
    _qvq("qvq-max-2025-03-25"),
    _qvq("qvq-plus"),
    _qvq("qvq-plus-latest"),
    _qvq("qvq-plus-2025-05-15"),
    # Qwen-VL
    _qwen_vl("qwen-vl-max", top_k=20, presence=1.5, what=_VL_MAX),
    _qwen_vl("qwen-vl-max-latest", top_k=20, presence=1.5, what=_VL_MAX),
    _qwen_vl("qwen-vl-max-2025-08-13", top_k=20, presence=1.5, what=_VL_MAX),
    _qwen_vl("qwen-vl-max-2025-04-08", top_k=1, presence=1.5, what=_VL_MAX),
    _qwen_vl("qwen-vl-plus", top_k=1, presence=1.5, what=_VL_PLUS),
    _qwen_vl("qwen-vl-plus-latest", top_k=1, presence=1.2, what=_VL_PLUS),
    _qwen_vl("qwen-vl-plus-2025-08-15", top_k=10, presence=1.2, what=_VL_PLUS),
    _qwen_vl("qwen-vl-plus-2025-07-10", top_k=10, presence=0.0, what=_VL_PLUS),
    _qwen_vl("qwen-vl-plus-2025-01-25", top_k=1, presence=1.0, what=_VL_PLUS),
    _qwen_vl("qwen2.5-vl-72b-instruct", top_k=1, presence=1.5, what=_QWEN25_VL),
    _qwen_vl("qwen2.5-vl-32b-instruct", top_k=1, presence=1.5, what=_QWEN25_VL),
    _qwen_vl("qwen2.5-vl-7b-instruct", top_k=1, presence=1.5, what=_QWEN25_VL),
    _qwen_vl("qwen2.5-vl-3b-instruct", top_k=1, presence=1.5, what=_QWEN25_VL),
    _qwen3_vl("qwen3-vl-plus"),
    _qwen3_vl("qwen3-vl-plus-2025-12-19"),
    _qwen3_vl("qwen3-vl-plus-2025-09-23"),
    _qwen3_vl("qwen3-vl-flash"),
    _qwen3_vl("qwen3-vl-flash-2025-10-15"),
    # Qwen-Omni
    _qwen3_omni("qwen3-omni-flash"),
    _qwen3_omni("qwen3-omni-flash-2025-12-01"),
    _qwen3_omni("qwen3-omni-flash-2025-09-15"),
    _qwen_omni_legacy("qwen2.5-omni-7b", top_k=1, what="Qwen2.5-Omni 7B open source"),
    _qwen_omni_legacy("qwen-omni-turbo", top_k=20, what="Qwen-Omni-Turbo, commercial"),
    _qwen_omni_legacy("qwen-omni-turbo-latest", top_k=20, what="Qwen-Omni-Turbo, commercial"),
    # Qwen-Math
    _qwen_math("qwen-math-plus"),
    _qwen_math("qwen-math-plus-latest"),
    _qwen_math("qwen-math-plus-2024-09-19"),
    _qwen_math("qwen-math-plus-2024-08-16"),
    _qwen_math("qwen-math-turbo"),
    _qwen_math("qwen-math-turbo-latest"),
    _qwen_math("qwen-math-turbo-2024-09-19"),
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
    _deepseek("deepseek-v4-pro", _1M, 384_000, thinking_default=True),
    _deepseek("deepseek-v4-flash", _1M, 384_000, thinking_default=True),
    _deepseek(
        "deepseek-v3.2", _128K, _64K, max_input=98_304, max_thinking=_32K, thinking_default=False
    ),
    # The embedded model openscope serves itself; not a Model Studio model, so no Qwen defaults.
    _model(
        "smollm2-135m-instruct",
        "smollm2",
        _8K,
        _8K,
        n=True,
        logprobs=True,
        top_k=None,
        presence=0.0,
        description="Embedded SmolLM2-135M-Instruct, served in-process by llama.cpp",
    ),
)
