"""Commercial Qwen models: Qwen-Max, Qwen3-Max, Qwen3.6, Qwen3.5, Qwen-Plus, Qwen-Flash,
Qwen-Turbo, Qwen-Coder and Qwen-Math (with the open-source siblings Model Studio lists
in the same families)."""

from __future__ import annotations

from openscope.core.catalog.models._build import (
    _1M,
    _8K,
    _16K,
    _32K,
    _64K,
    _128K,
    _256K,
    _NONE,
    _OPTIONAL,
    _describe,
    _model,
)
from openscope.core.catalog.spec import ModelSpec, ThinkingMode


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


_QWEN36 = "Qwen3.6"
_QWEN35_PLUS = "Qwen3.5-Plus, commercial multimodal hybrid thinker"
_QWEN35_FLASH = "Qwen3.5-Flash, fast commercial multimodal hybrid thinker"
_QWEN35_OPEN = "Qwen3.5 open-source multimodal hybrid thinker"
_Q3C_PLUS = "Qwen3-Coder-Plus, agentic coding model"
_Q3C_FLASH = "Qwen3-Coder-Flash, fast agentic coding model"
_QC_PLUS = "Qwen-Coder-Plus (Qwen2.5-Coder), coding model"
_QC_TURBO = "Qwen-Coder-Turbo (Qwen2.5-Coder), coding model"


COMMERCIAL_MODELS: tuple[ModelSpec, ...] = (
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
)

MATH_MODELS: tuple[ModelSpec, ...] = (
    # Qwen-Math
    _qwen_math("qwen-math-plus"),
    _qwen_math("qwen-math-plus-latest"),
    _qwen_math("qwen-math-plus-2024-09-19"),
    _qwen_math("qwen-math-plus-2024-08-16"),
    _qwen_math("qwen-math-turbo"),
    _qwen_math("qwen-math-turbo-latest"),
    _qwen_math("qwen-math-turbo-2024-09-19"),
)
