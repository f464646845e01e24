"""Reasoning models: QwQ and the visual reasoner QVQ, both thinking only and streaming only."""

from __future__ import annotations

from openscope.core.catalog.models._build import (
    _8K,
    _16K,
    _32K,
    _128K,
    _ONLY,
    _describe,
    _model,
)
from openscope.core.catalog.spec import ModelSpec


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


REASONING_MODELS: tuple[ModelSpec, ...] = (
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
)
