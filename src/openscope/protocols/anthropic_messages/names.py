"""The Anthropic Messages names of the core's fields, and the few refusals worded anew.

Anthropic's error body carries no `param`, so the names matter inside messages only.
"""

from __future__ import annotations

from typing import assert_never

from openscope.core.errors import OpenScopeError
from openscope.core.rules import Field, wire_message


def wire_name(field: Field) -> str:
    match field:
        case Field.MAX_OUTPUT_TOKENS:
            return "max_tokens"
        case Field.STOP:
            return "stop_sequences"
        case Field.THINKING_BUDGET:
            return "thinking.budget_tokens"
        case Field.EFFORT:
            return "output_config.effort"
        case (
            Field.MESSAGES
            | Field.STREAM
            | Field.TEMPERATURE
            | Field.TOP_P
            | Field.TOP_K
            | Field.THINKING
            | Field.TOOLS
            | Field.TOOL_CHOICE
            | Field.CACHE_CONTROL
        ):
            return field.value
        case (
            Field.SESSION_CACHE
            | Field.PRESENCE_PENALTY
            | Field.SEED
            | Field.N
            | Field.LOGPROBS
            | Field.TOP_LOGPROBS
            | Field.RESPONSE_FORMAT
            | Field.SEARCH
            | Field.CODE_INTERPRETER
            | Field.OUTPUT_MODALITIES
        ):
            return field.value  # not Anthropic parameters: the decoder never sets them
        case _:
            assert_never(field)


def message(error: OpenScopeError) -> str:
    # Model Studio's own messages stay verbatim; the rest read well with Anthropic's names.
    return wire_message(error, wire_name)
