"""Whether a request thinks, on the model it asked for."""

from __future__ import annotations

from openscope.core.catalog.spec import ModelSpec, ThinkingMode
from openscope.core.request import GenerateRequest


def thinking_enabled(request: GenerateRequest, spec: ModelSpec) -> bool:
    caps = spec.capabilities
    if caps.thinking is ThinkingMode.NONE:
        return False
    if caps.thinking is ThinkingMode.ONLY:
        return True
    enabled = request.thinking.enabled
    return caps.thinking_default if enabled is None else enabled
