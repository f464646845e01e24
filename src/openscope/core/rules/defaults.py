"""A model's documented sampling defaults, filled into what the client left unset."""

from __future__ import annotations

from dataclasses import replace

from openscope.core.catalog.spec import ModelSpec
from openscope.core.request import GenerateRequest
from openscope.core.rules.thinking import thinking_enabled


def apply_defaults(request: GenerateRequest, spec: ModelSpec) -> GenerateRequest:
    """Fill unset sampling parameters with the model's documented defaults."""
    sampling = request.sampling
    defaults = spec.defaults
    presence = defaults.presence_penalty
    if thinking_enabled(request, spec) and defaults.presence_penalty_thinking is not None:
        presence = defaults.presence_penalty_thinking
    filled = replace(
        sampling,
        temperature=sampling.temperature
        if sampling.temperature is not None
        else defaults.temperature,
        top_p=sampling.top_p if sampling.top_p is not None else defaults.top_p,
        top_k=sampling.top_k if sampling.top_k is not None else defaults.top_k,
        presence_penalty=sampling.presence_penalty
        if sampling.presence_penalty is not None
        else presence,
    )
    return replace(request, sampling=filled)
