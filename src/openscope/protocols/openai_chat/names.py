"""The Chat Completions names of the core's fields, for its error bodies.

Model Studio's compatible-mode messages are worded with these names, so no refusal needs
rewording here: substituting the name gives Model Studio's exact text.
"""

from __future__ import annotations

from typing import assert_never

from openscope.core.errors import OpenScopeError
from openscope.core.rules import Field, wire_message, wire_param


def wire_name(field: Field) -> str:
    match field:
        case Field.MAX_OUTPUT_TOKENS:
            return "max_tokens"
        case Field.THINKING:
            return "enable_thinking"
        case Field.SEARCH:
            return "enable_search"
        case Field.CODE_INTERPRETER:
            return "enable_code_interpreter"
        case Field.OUTPUT_MODALITIES:
            return "modalities"
        case (
            Field.MESSAGES
            | Field.STREAM
            | Field.TEMPERATURE
            | Field.TOP_P
            | Field.TOP_K
            | Field.PRESENCE_PENALTY
            | Field.SEED
            | Field.N
            | Field.STOP
            | Field.LOGPROBS
            | Field.TOP_LOGPROBS
            | Field.THINKING_BUDGET
            | Field.TOOLS
            | Field.TOOL_CHOICE
            | Field.RESPONSE_FORMAT
            | Field.CACHE_CONTROL
        ):
            return field.value
        case Field.SESSION_CACHE:
            return field.value  # not a Chat parameter: the decoder never sets it
        case Field.EFFORT:
            return field.value  # not a Chat parameter: the decoder never sets it
        case _:
            assert_never(field)


def message(error: OpenScopeError) -> str:
    return wire_message(error, wire_name)


def param(error: OpenScopeError) -> str | None:
    return wire_param(error, wire_name)
