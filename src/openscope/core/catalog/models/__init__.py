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

from openscope.core.catalog.models.commercial import COMMERCIAL_MODELS, MATH_MODELS
from openscope.core.catalog.models.embedded import EMBEDDED_MODELS
from openscope.core.catalog.models.multimodal import MULTIMODAL_MODELS
from openscope.core.catalog.models.open_source import OPEN_SOURCE_MODELS
from openscope.core.catalog.models.reasoning import REASONING_MODELS
from openscope.core.catalog.spec import ModelSpec

__all__ = ["BUILTIN_MODELS"]

# The order is the catalogue's listing order.
BUILTIN_MODELS: tuple[ModelSpec, ...] = (
    *COMMERCIAL_MODELS,
    *REASONING_MODELS,
    *MULTIMODAL_MODELS,
    *MATH_MODELS,
    *OPEN_SOURCE_MODELS,
    *EMBEDDED_MODELS,
)
