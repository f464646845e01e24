"""Multimodal models: Qwen-VL (with the open-source Qwen2.5-VL series), Qwen3-VL and
Qwen-Omni."""

from __future__ import annotations

from openscope.core.catalog.models._build import (
    _8K,
    _16K,
    _32K,
    _64K,
    _128K,
    _256K,
    _OPTIONAL,
    _describe,
    _model,
)
from openscope.core.catalog.spec import ModelSpec


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


_VL_MAX = "Qwen-VL-Max, vision-language model"
_VL_PLUS = "Qwen-VL-Plus, vision-language model"
_QWEN25_VL = "Qwen2.5-VL open-source vision-language model"


MULTIMODAL_MODELS: tuple[ModelSpec, ...] = (
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
)
