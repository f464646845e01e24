"""The llguidance grammars without the model: schemas made strict, and what a matcher over a
one-byte-per-token vocabulary accepts."""

import copy
import json
from dataclasses import replace
from typing import Any

import pytest
from llguidance import LLMatcher, LLTokenizer, TokenizerWrapper

from openscope.backends.llamacpp.grammar import grammar_for, strict_schema, tool_call_grammar
from openscope.backends.llamacpp.tool_policy import offered_tools
from openscope.core.messages import Message, Role, TextPart
from openscope.core.request import (
    GenerateRequest,
    ResponseFormat,
    ResponseFormatType,
    ToolChoice,
    ToolChoiceMode,
    ToolSpec,
)

INTEGER = {"type": "integer"}


class ByteVocabulary:
    """Token i is byte i, and 256 ends the text: every string spells one way, so a matcher
    fed a text's bytes tells exactly whether the grammar allows that text."""

    eos_token_id = 256
    bos_token_id = None
    tokens = [bytes([i]) for i in range(256)] + [b"<eos>"]
    special_token_ids = [256]

    def __call__(self, text: bytes) -> list[int]:
        return list(text)


@pytest.fixture(scope="module")
def tokenizer() -> LLTokenizer:
    return LLTokenizer(TokenizerWrapper(ByteVocabulary()))


def allows(tokenizer: LLTokenizer, grammar: str, text: str) -> bool:
    matcher = LLMatcher(tokenizer, grammar, log_level=0)
    assert not matcher.is_error(), matcher.get_error()
    return matcher.consume_tokens(list(text.encode())) and matcher.is_accepting()


def answer_grammar(schema: dict[str, Any] | None) -> str:
    kind = ResponseFormatType.JSON_SCHEMA if schema else ResponseFormatType.JSON_OBJECT
    request = GenerateRequest(
        model="m",
        messages=(Message(Role.USER, (TextPart("hi"),)),),
        response_format=ResponseFormat(kind, schema=schema),
    )
    grammar = grammar_for(request)
    assert grammar is not None
    return grammar


def forced_call_grammar(parameters: dict[str, Any]) -> str:
    tool = ToolSpec("f", None, parameters)
    request = GenerateRequest(
        model="m",
        messages=(Message(Role.USER, (TextPart("hi"),)),),
        tools=(tool,),
        tool_choice=ToolChoice(ToolChoiceMode.NAMED, name="f"),
    )
    grammar = grammar_for(request)
    assert grammar == tool_call_grammar((tool,))
    return grammar


def call(arguments: str) -> str:
    return f'<tool_call>\n{{"name": "f", "arguments": {arguments}}}\n</tool_call>'


# strict_schema


def test_an_object_that_says_nothing_is_closed() -> None:
    schema = {"type": "object", "properties": {"a": INTEGER}}
    assert strict_schema(schema) == {**schema, "additionalProperties": False}


def test_an_object_that_allows_more_is_left_as_it_says() -> None:
    free = {"type": "object", "properties": {"a": INTEGER}, "additionalProperties": True}
    typed = {"type": "object", "additionalProperties": INTEGER}
    evaluated = {"type": "object", "unevaluatedProperties": True}
    for schema in (free, typed, evaluated):
        assert strict_schema(schema) == schema


def test_nested_objects_are_closed_wherever_they_sit() -> None:
    leaf = {"type": "object", "properties": {"x": INTEGER}}
    closed = {**leaf, "additionalProperties": False}
    schema = {
        "type": "object",
        "properties": {"one": leaf, "many": {"type": "array", "items": leaf}},
        "patternProperties": {"^p": leaf},
        "additionalProperties": leaf,
        "$defs": {"Leaf": leaf},
        "definitions": {"Old": leaf},
    }
    strict = strict_schema({**schema, "prefixItems": [leaf]})
    assert strict["properties"] == {"one": closed, "many": {"type": "array", "items": closed}}
    assert strict["patternProperties"]["^p"] == closed
    assert strict["additionalProperties"] == closed
    assert strict["$defs"]["Leaf"] == closed and strict["definitions"]["Old"] == closed
    assert strict["prefixItems"] == [closed]


@pytest.mark.parametrize("keyword", ["anyOf", "oneOf"])
def test_alternatives_are_closed_each_but_not_the_object_they_choose_for(keyword: str) -> None:
    branches = [{"properties": {name: INTEGER}, "required": [name]} for name in "ab"]
    strict = strict_schema({"type": "object", keyword: branches})
    assert "additionalProperties" not in strict
    assert strict[keyword] == [{**b, "additionalProperties": False} for b in branches]


def test_intersected_parts_stay_open() -> None:
    # Closing either member of the allOf would forbid the other member's property.
    base = {"type": "object", "properties": {"a": INTEGER}}
    extra = {"type": "object", "properties": {"b": INTEGER}}
    schema = {"$defs": {"Base": base}, "allOf": [{"$ref": "#/$defs/Base"}, extra]}
    assert strict_schema(schema) == schema


def test_alternatives_beside_own_properties_stay_open() -> None:
    schema = {
        "type": "object",
        "properties": {"a": INTEGER},
        "anyOf": [{"properties": {"b": INTEGER}}, {"properties": {"c": INTEGER}}],
    }
    assert strict_schema(schema) == schema


def test_a_lone_allof_member_and_its_reference_are_closed() -> None:
    base = {"type": "object", "properties": {"a": INTEGER}}
    schema = {"$defs": {"Base": base}, "allOf": [{"$ref": "#/$defs/Base"}], "title": "T"}
    assert strict_schema(schema)["$defs"]["Base"] == {**base, "additionalProperties": False}


def test_required_names_count_as_declared() -> None:
    schema = {"type": "object", "properties": {"a": INTEGER}, "required": ["a", "b"]}
    assert strict_schema(schema)["properties"] == {"a": INTEGER, "b": True}


def test_data_inside_a_schema_is_not_rewritten() -> None:
    data = {"type": "object", "properties": {"x": 1}}
    schema = {"const": data, "enum": [data], "default": data, "examples": [data]}
    assert strict_schema(schema) == schema


def test_the_callers_schema_is_not_touched() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "object", "properties": {"b": INTEGER}}},
        "required": ["c"],
    }
    before = copy.deepcopy(schema)
    strict_schema(schema)
    assert schema == before


def test_any_depth_is_walked_without_recursion() -> None:
    depth = 10_000  # far past Python's recursion limit
    schema: dict[str, Any] = {"type": "object"}
    for _ in range(depth):
        schema = {"type": "object", "properties": {"a": schema}}
    node = strict_schema(schema)
    for _ in range(depth):
        assert node["additionalProperties"] is False
        node = node["properties"]["a"]
    assert node == {"type": "object", "additionalProperties": False}


# what the grammars allow


def test_a_forced_call_refuses_an_undeclared_argument(tokenizer: LLTokenizer) -> None:
    grammar = forced_call_grammar({"type": "object", "properties": {"input": INTEGER}})
    assert allows(tokenizer, grammar, call('{"input": 3}'))
    assert not allows(tokenizer, grammar, call('{"input": 3, "type": "integer"}'))


def test_a_tool_without_parameters_takes_only_no_arguments(tokenizer: LLTokenizer) -> None:
    for parameters in ({"type": "object", "properties": {}}, {}):
        grammar = forced_call_grammar(parameters)
        assert allows(tokenizer, grammar, call("{}"))
        assert not allows(tokenizer, grammar, call('{"name": "f", "type": "function"}'))


def test_a_json_schema_answer_refuses_an_undeclared_key(tokenizer: LLTokenizer) -> None:
    grammar = answer_grammar({"type": "object", "properties": {"a": INTEGER}})
    assert allows(tokenizer, grammar, '{"a": 1}')
    assert not allows(tokenizer, grammar, '{"a": 1, "b": 2}')


def test_a_schema_that_allows_more_keys_still_gets_them(tokenizer: LLTokenizer) -> None:
    schema = {"type": "object", "properties": {"a": INTEGER}, "additionalProperties": INTEGER}
    assert allows(tokenizer, answer_grammar(schema), '{"a": 1, "b": 2}')


def test_intersected_members_keep_each_others_properties(tokenizer: LLTokenizer) -> None:
    schema = {
        "$defs": {"Base": {"type": "object", "properties": {"a": INTEGER}}},
        "allOf": [{"$ref": "#/$defs/Base"}, {"type": "object", "properties": {"b": INTEGER}}],
    }
    assert allows(tokenizer, answer_grammar(schema), '{"a": 1, "b": 2}')


def test_a_json_object_answer_may_hold_any_keys(tokenizer: LLTokenizer) -> None:
    assert allows(tokenizer, answer_grammar(None), '{"anything": [1, {"at": "all"}]}')


@pytest.mark.parametrize(
    "spacing",
    [
        '{"a":1, "b":[1, 2]}',
        '{"a": 1,"b": [1, 2]}',
        '{ "a": 1, "b": [1, 2]}',
        '{"a": 1, "b": [1,  2]}',
    ],
)
def test_whitespace_is_only_the_space_after_a_separator(
    tokenizer: LLTokenizer, spacing: str
) -> None:
    grammar = answer_grammar({"type": "object", "properties": {"a": INTEGER, "b": {}}})
    assert allows(tokenizer, grammar, '{"a": 1, "b": [1, 2]}')
    assert not allows(tokenizer, grammar, spacing)


def test_newlines_and_indentation_are_refused(tokenizer: LLTokenizer) -> None:
    pretty = json.dumps({"input": 3}, indent=2)
    assert not allows(tokenizer, answer_grammar(None), pretty)
    tool_grammar = forced_call_grammar({"type": "object", "properties": {"input": INTEGER}})
    assert not allows(tokenizer, tool_grammar, call(pretty))


def test_a_schemas_own_whitespace_options_do_not_loosen_ours(tokenizer: LLTokenizer) -> None:
    schema = {"x-guidance": {"whitespace_flexible": True}, "type": "object"}
    assert allows(tokenizer, answer_grammar(schema), "{}")
    assert not allows(tokenizer, answer_grammar(schema), "{ }")


# allowed tools


def allowed_tools_request(mode: ToolChoiceMode, *allowed: str) -> GenerateRequest:
    tools = tuple(ToolSpec(name, None, {"type": "object", "properties": {}}) for name in "fgh")
    return GenerateRequest(
        model="m",
        messages=(Message(Role.USER, (TextPart("hi"),)),),
        tools=tools,
        tool_choice=ToolChoice(mode, allowed=allowed),
    )


def named_call(name: str, arguments: str = "{}") -> str:
    return f'<tool_call>\n{{"name": "{name}", "arguments": {arguments}}}\n</tool_call>'


def test_allowed_tools_under_auto_allow_text_and_only_their_calls(
    tokenizer: LLTokenizer,
) -> None:
    grammar = grammar_for(allowed_tools_request(ToolChoiceMode.AUTO, "f", "g"))
    assert grammar is not None
    assert allows(tokenizer, grammar, "Just text, no call.")
    assert allows(tokenizer, grammar, "")
    assert allows(tokenizer, grammar, f"Calling.\n{named_call('g')}")
    assert allows(tokenizer, grammar, f"{named_call('f')}\n{named_call('g', '{}')}\nDone.")
    assert not allows(tokenizer, grammar, named_call("h"))
    assert not allows(tokenizer, grammar, f"First {named_call('f')} then {named_call('h')}")
    assert not allows(tokenizer, grammar, "<tool_call>\nnot json\n</tool_call>")


def test_allowed_tools_under_required_force_a_call_among_them(tokenizer: LLTokenizer) -> None:
    grammar = grammar_for(allowed_tools_request(ToolChoiceMode.REQUIRED, "g"))
    assert grammar is not None
    assert allows(tokenizer, grammar, named_call("g"))
    assert not allows(tokenizer, grammar, named_call("f"))
    assert not allows(tokenizer, grammar, "Just text.")


def test_allowing_every_tool_leaves_calls_unchecked() -> None:
    assert grammar_for(allowed_tools_request(ToolChoiceMode.AUTO, "f", "g", "h")) is None


def test_only_the_allowed_tools_are_offered() -> None:
    request = allowed_tools_request(ToolChoiceMode.AUTO, "h", "f")
    assert [t.name for t in offered_tools(request)] == ["f", "h"]
    none = replace(request, tool_choice=ToolChoice(ToolChoiceMode.NONE))
    assert offered_tools(none) == ()
    named = replace(request, tool_choice=ToolChoice(ToolChoiceMode.NAMED, name="g"))
    assert offered_tools(named) == request.tools


def test_calls_in_another_format_are_left_unchecked() -> None:
    request = allowed_tools_request(ToolChoiceMode.AUTO, "f")
    assert grammar_for(request, "qwen3_coder") is None


# strict tools under auto

POINT = {
    "type": "object",
    "properties": {"x": INTEGER, "label": {"type": "string"}},
    "required": ["x"],
}


def auto_request(*tools: ToolSpec) -> GenerateRequest:
    return GenerateRequest(
        model="m", messages=(Message(Role.USER, (TextPart("hi"),)),), tools=tools
    )


def test_auto_without_a_strict_tool_leaves_calls_free() -> None:
    assert grammar_for(auto_request(ToolSpec("f", None, POINT))) is None


def test_a_strict_tool_under_auto_allows_text_or_a_call_that_fits(
    tokenizer: LLTokenizer,
) -> None:
    grammar = grammar_for(auto_request(ToolSpec("f", None, POINT, strict=True)))
    assert grammar is not None
    assert allows(tokenizer, grammar, "No call needed: 2 + 2 is 4.")
    assert allows(tokenizer, grammar, named_call("f", '{"x": 1, "label": "a"}'))
    assert allows(tokenizer, grammar, "Let me check.\n" + named_call("f", '{"x": -3}'))
    assert not allows(tokenizer, grammar, named_call("f", '{"label": "a"}'))  # x is required
    assert not allows(tokenizer, grammar, named_call("f", '{"x": "1"}'))
    assert not allows(tokenizer, grammar, named_call("f", '{"x": 1, "y": 2}'))
    assert not allows(tokenizer, grammar, named_call("f", '{"x": 1'))
    assert not allows(tokenizer, grammar, named_call("other"))


def test_beside_a_strict_tool_a_loose_one_takes_any_object(tokenizer: LLTokenizer) -> None:
    loose = ToolSpec("g", None, POINT)
    grammar = grammar_for(auto_request(ToolSpec("f", None, POINT, strict=True), loose))
    assert grammar is not None
    assert allows(tokenizer, grammar, named_call("g", '{"y": [1, {"z": null}]}'))
    assert not allows(tokenizer, grammar, named_call("f", '{"y": 2}'))
    assert not allows(tokenizer, grammar, named_call("g", "[1]"))
