"""Grammars that constrain what the model may generate (llama.cpp GBNF): a JSON object, JSON
that fits a schema, or a call to one of the allowed tools with arguments that fit its
parameters."""

from __future__ import annotations

import json
import re
from typing import Any

from openscope.core.errors import InvalidParameter
from openscope.core.request import GenerateRequest, ResponseFormatType, ToolChoiceMode, ToolSpec

_ROOT = re.compile(r"^root ::=", re.MULTILINE)


# Keywords llama-cpp-python's schema converter drops: refused rather than ignored.
UNENFORCEABLE = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")


def _unenforceable(schema: Any) -> str | None:
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key in UNENFORCEABLE:
                return str(key)
            if key not in ("const", "enum", "default", "examples"):
                found = _unenforceable(value)
                if found:
                    return found
    elif isinstance(schema, list):
        for value in schema:
            found = _unenforceable(value)
            if found:
                return found
    return None


def _schema_grammar(schema: dict[str, Any], param: str) -> str:
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    keyword = _unenforceable(schema)
    if keyword is not None:
        raise InvalidParameter(
            f"The JSON schema cannot be enforced: the '{keyword}' keyword is not supported "
            "by this server's grammar engine.",
            param=param,
        )
    try:
        grammar: str = json_schema_to_gbnf(json.dumps(schema))
    except Exception as error:  # the converter raises plain exceptions on what it lacks
        raise InvalidParameter(
            f"The JSON schema cannot be enforced: {error}", param=param
        ) from None
    return grammar


def _parameters(tool: ToolSpec) -> dict[str, Any]:
    return tool.parameters or {"type": "object", "properties": {}}


def forced_tools(request: GenerateRequest) -> tuple[ToolSpec, ...]:
    """The tools one of which must be called, or () when the model may answer in text."""
    choice = request.tool_choice
    if not request.tools or choice.mode not in (ToolChoiceMode.REQUIRED, ToolChoiceMode.NAMED):
        return ()
    if choice.mode is ToolChoiceMode.NAMED:
        named = tuple(t for t in request.tools if t.name == choice.name)
        if not named:
            raise InvalidParameter(
                f"tool_choice names the function '{choice.name}', which is not in tools.",
                param="tool_choice",
            )
        return named
    allowed = choice.allowed
    return tuple(t for t in request.tools if allowed is None or t.name in allowed)


def tool_call_grammar(tools: tuple[ToolSpec, ...]) -> str:
    """Exactly one Hermes-style `<tool_call>` whose JSON names an allowed tool and whose
    arguments satisfy that tool's schema."""
    calls = [
        {
            "type": "object",
            "properties": {"name": {"const": t.name}, "arguments": _parameters(t)},
            "required": ["name", "arguments"],
        }
        for t in tools
    ]
    schema = calls[0] if len(calls) == 1 else {"anyOf": calls}
    body = _ROOT.sub("tool-call ::=", _schema_grammar(schema, "tools"), count=1)
    return f'root ::= "<tool_call>\\n" tool-call "\\n</tool_call>"\n{body}'


def grammar_for(request: GenerateRequest) -> str | None:
    """The GBNF that forces what `request` asks for, or None for free text."""
    forced = forced_tools(request)
    if forced:
        return tool_call_grammar(forced)
    response_format = request.response_format
    if response_format.type is ResponseFormatType.JSON_OBJECT:
        from llama_cpp.llama_grammar import JSON_GBNF  # a JSON object at the root

        grammar: str = JSON_GBNF
        return grammar
    if response_format.type is ResponseFormatType.JSON_SCHEMA and response_format.schema:
        return _schema_grammar(response_format.schema, "response_format")
    return None
