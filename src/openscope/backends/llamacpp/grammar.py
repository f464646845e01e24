"""Constraints on what the model may generate, as llguidance grammars: a JSON object, JSON
that fits a schema, or a call to one of the allowed tools with arguments that fit its
parameters. (bench/grammar_engines.py measured llguidance's token masks at 1.46x the speed
of llama.cpp's GBNF sampler on this model.)"""

from __future__ import annotations

import json
from typing import Any

from openscope.core.errors import InvalidParameter
from openscope.core.request import GenerateRequest, ResponseFormatType, ToolChoiceMode, ToolSpec


def _checked(grammar: str, param: str) -> str:
    from llguidance import LLMatcher

    problem = LLMatcher.validate_grammar(grammar)
    if problem:
        raise InvalidParameter(f"The JSON schema cannot be enforced: {problem}", param=param)
    return grammar


def _schema(schema: dict[str, Any], param: str) -> str:
    from llguidance import LLMatcher

    try:
        grammar: str = LLMatcher.grammar_from_json_schema(schema)
    except ValueError as error:
        raise InvalidParameter(f"The JSON schema is not valid: {error}", param=param) from None
    return _checked(grammar, param)


def _parameters(tool: ToolSpec) -> dict[str, Any]:
    return tool.parameters or {"type": "object", "properties": {}}


def forced_tools(request: GenerateRequest) -> tuple[ToolSpec, ...]:
    """The tools one of which must be called, or () when the model may answer in text."""
    choice = request.tool_choice
    if not request.tools or choice.mode not in (ToolChoiceMode.REQUIRED, ToolChoiceMode.NAMED):
        return ()
    if choice.mode is ToolChoiceMode.NAMED:
        return tuple(t for t in request.tools if t.name == choice.name)
    allowed = choice.allowed
    return tuple(t for t in request.tools if allowed is None or t.name in allowed)


def tool_call_grammar(tools: tuple[ToolSpec, ...]) -> str:
    """Exactly one Hermes-style `<tool_call>` whose JSON names an allowed tool and whose
    arguments satisfy that tool's schema."""
    from llguidance import LLMatcher

    calls = [
        {
            "type": "object",
            "properties": {"name": {"const": t.name}, "arguments": _parameters(t)},
            "required": ["name", "arguments"],
            "additionalProperties": False,
        }
        for t in tools
    ]
    schema = calls[0] if len(calls) == 1 else {"anyOf": calls}
    lark = f'start: "<tool_call>\\n" call "\\n</tool_call>"\ncall: %json {json.dumps(schema)}'
    return _checked(LLMatcher.grammar_from_lark(lark), "tools")


def grammar_for(request: GenerateRequest) -> str | None:
    """The grammar that forces what `request` asks for, or None for free text."""
    forced = forced_tools(request)
    if forced:
        return tool_call_grammar(forced)
    response_format = request.response_format
    if response_format.type is ResponseFormatType.JSON_OBJECT:
        return _schema({"type": "object"}, "response_format")
    if response_format.type is ResponseFormatType.JSON_SCHEMA and response_format.schema:
        return _schema(response_format.schema, "response_format")
    return None
