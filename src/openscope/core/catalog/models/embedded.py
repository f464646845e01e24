"""The embedded model openscope serves itself."""

from __future__ import annotations

from openscope.core.catalog.models._build import _8K, _model
from openscope.core.catalog.spec import ModelSpec

# The embedded model openscope serves itself; not a Model Studio model, so no Qwen defaults.
EMBEDDED_MODELS: tuple[ModelSpec, ...] = (
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
