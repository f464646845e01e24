"""Constraints on what the model may generate, as llguidance grammars: a JSON object, JSON
that fits a schema, a call to one of the allowed tools with arguments that fit its
parameters, or text in which every call names one of the allowed tools (and fits the schema
of a strict one).
(bench/grammar_engines.py measured llguidance's token masks at 1.46x the speed of llama.cpp's
GBNF sampler on this model.)

Every schema is made strict first, as xgrammar does by default: an object holds only the
properties it declares unless it says `additionalProperties`. A JSON schema permits any other
key when it says nothing, and a 135M model fills that freedom with copies of the schema it was
shown (`{"input": 3, "type": "integer", "exclusiveMaximum": 1000}`). Whitespace is fixed to
the separators `json.dumps` writes, which are also the ones the tool prompt shows."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from openscope.backends.llamacpp.tool_policy import forced_tools, guarded_tools
from openscope.core.errors import InvalidParameter
from openscope.core.request import GenerateRequest, ResponseFormatType, ToolSpec
from openscope.parsing.pipeline import ToolFormat

# llguidance's JSON options (the top-level "x-guidance" key): no whitespace but the single
# space after each separator, so the model cannot run off into newlines and indentation.
COMPACT_JSON = {"whitespace_flexible": False, "item_separator": ", ", "key_separator": ": "}

# Keywords whose value maps names to subschemas, or is a subschema or a list of them
# (prefixItems, and items before draft 2020-12), each of which describes a value of its own.
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_SCHEMA_VALUES = ("items", "prefixItems", "additionalProperties", "additionalItems", "contains")
# Keywords that combine subschemas with the schema they sit in. Closing an object that is
# intersected with another (allOf, a $ref beside its own properties) would forbid the other's
# properties, so such parts are left as written; `not`, `if`/`then`/`else` are not followed.
_COMBINATIONS = ("allOf", "anyOf", "oneOf")
_OWN_SHAPE = ("properties", "patternProperties", "required")


def strict_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of `schema` in which every object schema that does not say `additionalProperties`
    (or `unevaluatedProperties`) allows only the properties it declares or requires. Parts
    that are intersected with others stay open, since closing them would forbid their
    partners' properties. The caller's dict is not touched."""
    strict: dict[str, Any] = _copied(schema)
    open_targets = _intersected_ref_targets(strict)
    for node, alone in _subschemas(strict, open_targets):
        if alone and _is_open_object(node) and not _combines(node):
            _close(node)
    return strict


def _copied(value: Any) -> Any:
    """A deep copy of JSON data, made without recursion so that no nesting depth can overflow
    the stack."""
    if not isinstance(value, dict | list):
        return value
    root: Any = {} if isinstance(value, dict) else [None] * len(value)
    pending: list[tuple[Any, Any]] = [(value, root)]
    while pending:
        source, target = pending.pop()
        for key, item in source.items() if isinstance(source, dict) else enumerate(source):
            if isinstance(item, dict | list):
                target[key] = {} if isinstance(item, dict) else [None] * len(item)
                pending.append((item, target[key]))
            else:
                target[key] = item
    return root


def _intersected_ref_targets(root: dict[str, Any]) -> set[str]:
    """The `$ref` targets that some reference intersects with another schema. Opening a
    target can open the targets its own references reach, so this runs to a fixed point
    (it grows each round, and there are only so many references)."""
    targets: set[str] = set()
    while True:
        found = {
            node["$ref"]
            for node, alone in _subschemas(root, targets)
            if isinstance(node.get("$ref"), str) and not (alone and _shape_sources(node) == 1)
        }
        if found <= targets:
            return targets
        targets |= found


def _subschemas(
    root: dict[str, Any], open_targets: set[str]
) -> Iterator[tuple[dict[str, Any], bool]]:
    """Every schema in `root` (root first), with whether it stands alone: describes a value
    all by itself rather than as one of several schemas intersected over the same value.
    Walked with an explicit stack, so depth cannot overflow Python's."""
    pending: list[tuple[str, Any, bool]] = [("#", root, True)]
    while pending:
        pointer, node, alone = pending.pop()
        if not isinstance(node, dict):
            continue  # `true`, `false`, or not a schema at all
        alone = alone and pointer not in open_targets
        # listed before yielding: the caller may add to `node`
        children = list(_children(pointer, node, alone))
        yield node, alone
        pending.extend(children)


def _children(pointer: str, node: dict[str, Any], alone: bool) -> Iterator[tuple[str, Any, bool]]:
    for keyword in _SCHEMA_MAPS:
        named = node.get(keyword)
        if isinstance(named, dict):
            for name, child in named.items():
                yield f"{pointer}/{keyword}/{_escaped(name)}", child, True
    for keyword in _SCHEMA_VALUES:
        yield from _listed(f"{pointer}/{keyword}", node.get(keyword), True)
    # A combined part describes the value alone only when nothing else in `node` does.
    parts_alone = alone and _shape_sources(node) == 1
    for keyword in _COMBINATIONS:
        yield from _listed(f"{pointer}/{keyword}", node.get(keyword), parts_alone)


def _listed(pointer: str, value: Any, alone: bool) -> Iterator[tuple[str, Any, bool]]:
    if isinstance(value, list):
        for index, child in enumerate(value):
            yield f"{pointer}/{index}", child, alone
    else:
        yield pointer, value, alone


def _escaped(name: str) -> str:
    """`name` as a JSON pointer segment (RFC 6901), as `$ref` spells it."""
    return name.replace("~", "~0").replace("/", "~1")


def _shape_sources(node: dict[str, Any]) -> int:
    """How many schemas say which properties the value of `node` has: its own keywords, each
    allOf member, its $ref, and its anyOf and oneOf (each of which picks one branch)."""
    all_of = node.get("allOf")
    return (
        any(keyword in node for keyword in _OWN_SHAPE)
        + (len(all_of) if isinstance(all_of, list) else 0)
        + ("$ref" in node)
        + ("anyOf" in node)
        + ("oneOf" in node)
    )


def _combines(node: dict[str, Any]) -> bool:
    return "$ref" in node or any(keyword in node for keyword in _COMBINATIONS)


def _is_open_object(node: dict[str, Any]) -> bool:
    """An object schema that says nothing about properties beyond the ones it names."""
    kind = node.get("type")
    is_object = (
        kind == "object"
        or (isinstance(kind, list) and "object" in kind)
        or "properties" in node
        or "patternProperties" in node
    )
    return is_object and "additionalProperties" not in node and "unevaluatedProperties" not in node


def _close(node: dict[str, Any]) -> None:
    # A required name the properties leave out is declared all the same (any value), or
    # closing would make the object impossible.
    declared = node.get("properties")
    declared = declared if isinstance(declared, dict) else {}
    required = node.get("required")
    undeclared = [
        name
        for name in (required if isinstance(required, list) else ())
        if isinstance(name, str) and name not in declared
    ]
    if undeclared:
        node["properties"] = {**declared, **dict.fromkeys(undeclared, True)}
    node["additionalProperties"] = False


def _compact(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` with llguidance's whitespace options on top of any it brought (only the
    top-level "x-guidance" key counts)."""
    brought = schema.get("x-guidance")
    options = {**(brought if isinstance(brought, dict) else {}), **COMPACT_JSON}
    return {**schema, "x-guidance": options}


def _checked(grammar: str, param: str) -> str:
    from llguidance import LLMatcher

    problem = LLMatcher.validate_grammar(grammar)
    if problem:
        raise InvalidParameter(f"The JSON schema cannot be enforced: {problem}", param=param)
    return grammar


def _schema(schema: dict[str, Any], param: str) -> str:
    from llguidance import LLMatcher

    try:
        grammar: str = LLMatcher.grammar_from_json_schema(_compact(schema))
    except ValueError as error:
        raise InvalidParameter(f"The JSON schema is not valid: {error}", param=param) from None
    return _checked(grammar, param)


def _parameters(tool: ToolSpec) -> dict[str, Any]:
    return strict_schema(tool.parameters or {"type": "object", "properties": {}})


def _calls_schema(tools: tuple[ToolSpec, ...], arguments: Callable[[ToolSpec], Any]) -> str:
    """The JSON schema of a Hermes call body naming one of `tools`, as text."""
    calls = [
        {
            "type": "object",
            "properties": {"name": {"const": t.name}, "arguments": arguments(t)},
            "required": ["name", "arguments"],
            "additionalProperties": False,
        }
        for t in tools
    ]
    return json.dumps(_compact(calls[0] if len(calls) == 1 else {"anyOf": calls}))


def tool_call_grammar(tools: tuple[ToolSpec, ...]) -> str:
    """Exactly one Hermes-style `<tool_call>` whose JSON names an allowed tool and whose
    arguments satisfy that tool's schema, made strict."""
    from llguidance import LLMatcher

    calls = _calls_schema(tools, _parameters)
    lark = f'start: "<tool_call>\\n" call "\\n</tool_call>"\ncall: %json {calls}'
    return _checked(LLMatcher.grammar_from_lark(lark), "tools")


def _checked_arguments(tool: ToolSpec) -> dict[str, Any]:
    """What a checked call's arguments must be: a strict tool's fit its schema (made strict),
    any other's are a JSON object, as its parser needs and as a client can read."""
    return _parameters(tool) if tool.strict else {"type": "object"}


def text_or_calls_grammar(tools: tuple[ToolSpec, ...]) -> str:
    """Any text, in which every Hermes-style `<tool_call>` the model opens must name one of
    `tools`, with arguments that fit the tool's schema when it is strict and that are a JSON
    object otherwise.

    The text before a call is a lazy lexeme: it ends at the first `<tool_call>`, and only
    the call can follow it; the text at the end could otherwise run on over the tag."""
    from llguidance import LLMatcher

    calls = _calls_schema(tools, _checked_arguments)
    lark = (
        "start: call* TEXT\n"
        "TEXT: /(.|\\n)*/\n"
        'opening[lazy]: TEXT "<tool_call>"\n'
        f'call: opening "\\n" %json {calls} "\\n</tool_call>"'
    )
    return _checked(LLMatcher.grammar_from_lark(lark), "tools")


def grammar_for(request: GenerateRequest, tool_format: ToolFormat = "hermes") -> str | None:
    """The grammar that forces what `request` asks for, or None for free text. A JSON
    answer format wins over checked calls under `auto`: its promise is the answer's shape,
    while calling a tool is the model's choice (which it then loses). The call grammars
    spell Hermes calls, so a model that writes another format has its `auto` calls left
    unchecked rather than forced into a format its parser would not read."""
    forced = forced_tools(request)
    if forced:
        return tool_call_grammar(forced)
    response_format = request.response_format
    if response_format.type is ResponseFormatType.JSON_OBJECT:
        # any object at all: json_object promises JSON, not a shape
        return _schema({"type": "object"}, "response_format")
    if response_format.type is ResponseFormatType.JSON_SCHEMA and response_format.schema:
        return _schema(strict_schema(response_format.schema), "response_format")
    guarded = guarded_tools(request) if tool_format == "hermes" else ()
    return text_or_calls_grammar(guarded) if guarded else None
