"""Model Studio's model-dependent request rules, shared by every protocol.

Range checks that do not depend on the model live in each protocol's decoder, with that
API's own messages; these depend on the catalogue entry of the model asked for. The size
bounds every API shares (`limits`) are applied here too, first.
"""

from __future__ import annotations

import re
from dataclasses import replace

from openscope.core.builtin_tools import BuiltinToolKind
from openscope.core.catalog.spec import ModelSpec, ThinkingMode
from openscope.core.errors import InvalidParameter
from openscope.core.limits import check_limits
from openscope.core.request import GenerateRequest, ResponseFormatType, ToolChoiceMode


def thinking_enabled(request: GenerateRequest, spec: ModelSpec) -> bool:
    caps = spec.capabilities
    if caps.thinking is ThinkingMode.NONE:
        return False
    if caps.thinking is ThinkingMode.ONLY:
        return True
    enabled = request.thinking.enabled
    return caps.thinking_default if enabled is None else enabled


TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def check_tools(request: GenerateRequest) -> None:
    """Tool names: letters, digits, underscores and hyphens, at most 64 characters."""
    for tool in request.tools:
        if not TOOL_NAME.match(tool.name):
            raise InvalidParameter(
                f"The tool name '{tool.name}' is invalid: use letters, digits, underscores "
                "and hyphens, at most 64 characters.",
                param="tools",
            )
    names = [t.name for t in request.tools]
    if len(set(names)) != len(names):
        raise InvalidParameter("Tool names must be unique.", param="tools")
    choice = request.tool_choice
    if choice.mode in (ToolChoiceMode.REQUIRED, ToolChoiceMode.NAMED) and not names:
        raise InvalidParameter(
            "tool_choice can force a tool call only when tools are given.", param="tool_choice"
        )
    asked = [choice.name] if choice.mode is ToolChoiceMode.NAMED else list(choice.allowed or ())
    for name in asked:
        if name not in names:
            raise InvalidParameter(
                f"tool_choice names the function '{name}', which is not in tools.",
                param="tool_choice",
            )


def check_request(request: GenerateRequest, spec: ModelSpec, *, stream: bool) -> None:
    """Raise `InvalidParameter` with Model Studio's message for the first rule broken.

    The size bounds come first: the rules after them walk the tools and messages."""
    check_limits(request)
    check_tools(request)
    caps = spec.capabilities
    asked = request.thinking.enabled
    if asked is True and caps.thinking is ThinkingMode.NONE:
        raise InvalidParameter(
            f"The model {spec.name} does not support enable_thinking.", param="enable_thinking"
        )
    if asked is False and caps.thinking is ThinkingMode.ONLY:
        raise InvalidParameter(
            "The value of the enable_thinking parameter is restricted to True.",
            param="enable_thinking",
        )
    if request.thinking.effort is not None and not caps.effort:
        raise InvalidParameter(
            f"The model {spec.name} does not support the effort setting.", param="effort"
        )
    thinking = thinking_enabled(request, spec)
    budget = request.thinking.budget_tokens
    if budget is not None and thinking:
        limit = spec.max_thinking_tokens or spec.max_output_tokens
        if budget < 1 or budget > limit:
            raise InvalidParameter(
                "The thinking_budget parameter must be a positive integer and not greater "
                f"than {limit}",
                param="thinking_budget",
            )
    if thinking and caps.thinking_stream_only and not stream:
        raise InvalidParameter(
            "This model only support stream mode, please enable the stream parameter to "
            "access the model.",
            param="stream",
        )
    if thinking and request.tool_choice.mode in (ToolChoiceMode.REQUIRED, ToolChoiceMode.NAMED):
        raise InvalidParameter(
            "The tool_choice parameter does not support being set to required or object in "
            "thinking mode",
            param="tool_choice",
        )
    if thinking and request.response_format.type is not ResponseFormatType.TEXT:
        raise InvalidParameter(
            "Json mode response is not supported when enable_thinking is true",
            param="response_format",
        )
    max_tokens = request.sampling.max_tokens
    if max_tokens is not None and not 1 <= max_tokens <= spec.max_output_tokens:
        raise InvalidParameter(
            f"Range of max_tokens should be [1, {spec.max_output_tokens}]", param="max_tokens"
        )
    if request.sampling.n > 1 and not caps.multiple_choices:
        raise InvalidParameter(f"The model {spec.name} does not support n > 1.", param="n")
    if request.sampling.n > 1 and request.tools:
        raise InvalidParameter("n must be 1 when the tools parameter is set.", param="n")
    if request.sampling.logprobs and not caps.logprobs:
        raise InvalidParameter(
            f"The model {spec.name} does not support logprobs.", param="logprobs"
        )
    searches = any(t.kind is BuiltinToolKind.WEB_SEARCH for t in request.builtin_tools)
    if searches and not caps.search:
        raise InvalidParameter("This model does not support enable_search.", param="enable_search")


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
