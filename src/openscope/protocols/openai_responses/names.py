"""The Responses names of the core's fields, and the few refusals worded anew for it.

Thinking arrives as `reasoning` (its `effort`, which wins) or as Model Studio's
`enable_thinking`; refusals name `reasoning`, the Responses API's own parameter. The
conversation is `input`, the answer budget `max_output_tokens`, the format `text.format`.
"""

from __future__ import annotations

from typing import assert_never

from openscope.core.errors import OpenScopeError
from openscope.core.rules import Field, Wording, wire_message, wire_param


def wire_name(field: Field) -> str:
    match field:
        case Field.MESSAGES:
            return "input"
        case Field.THINKING:
            return "reasoning"
        case Field.EFFORT:
            return "reasoning.effort"
        case Field.RESPONSE_FORMAT:
            return "text.format"
        case Field.SEARCH:
            return "web_search"
        case Field.OUTPUT_MODALITIES:
            return "modalities"
        case Field.SESSION_CACHE:
            return "x-dashscope-session-cache"
        case (
            Field.STREAM
            | Field.MAX_OUTPUT_TOKENS
            | Field.TEMPERATURE
            | Field.TOP_P
            | Field.TOOLS
            | Field.TOOL_CHOICE
            | Field.CODE_INTERPRETER
        ):
            return field.value
        case (
            Field.TOP_K
            | Field.PRESENCE_PENALTY
            | Field.SEED
            | Field.N
            | Field.STOP
            | Field.LOGPROBS
            | Field.TOP_LOGPROBS
            | Field.THINKING_BUDGET
            | Field.CACHE_CONTROL
        ):
            return field.value  # not Responses parameters: the decoder never sets them
        case _:
            assert_never(field)


def reworded(wording: Wording) -> str | None:
    """Where Model Studio's chat wording reads wrong with a Responses name in it."""
    match wording:
        case Wording.TOO_MANY_MESSAGES:
            return "The number of items in {messages} must not exceed {limit}."
        case _:
            return None


def message(error: OpenScopeError) -> str:
    return wire_message(error, wire_name, reworded)


def param(error: OpenScopeError) -> str | None:
    return wire_param(error, wire_name)
