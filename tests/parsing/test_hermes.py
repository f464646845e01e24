import json
import random
from typing import Any

import pytest

from openscope.parsing.hermes import HermesToolParser, complete_escapes
from openscope.parsing.segments import (
    Segment,
    TextChunk,
    ToolCallArguments,
    ToolCallBegin,
    ToolCallEnd,
)
from tests.parsing.chunking import merged, parse_all_ways, random_pieces, run


def hermes(text: str) -> list[Segment]:
    return parse_all_ways(HermesToolParser, text)


def call(name: str, arguments: str) -> list[Segment]:
    return [ToolCallBegin(name), ToolCallArguments(arguments), ToolCallEnd()]


def block(body: str) -> str:
    return f"<tool_call>\n{body}\n</tool_call>"


WEATHER = '{"name": "get_weather", "arguments": {"city": "Paris"}}'


def test_one_call() -> None:
    assert hermes(block(WEATHER)) == call("get_weather", '{"city": "Paris"}')


def test_plain_text_passes_through() -> None:
    assert hermes("Hello, <b>world</b> < tool_call >!\n") == [
        TextChunk("Hello, <b>world</b> < tool_call >!\n")
    ]


def test_text_before_between_and_after_calls() -> None:
    text = (
        "Let me check both.\n\n"
        + block(WEATHER)
        + "\n"
        + block('{"name": "get_time", "arguments": {"tz": "CET"}}')
        + "\n\nDone."
    )
    assert hermes(text) == [
        TextChunk("Let me check both."),
        *call("get_weather", '{"city": "Paris"}'),
        *call("get_time", '{"tz": "CET"}'),
        TextChunk("Done."),
    ]


def test_text_between_calls_separates_them() -> None:
    text = block(WEATHER) + "\nand then\n" + block(WEATHER)
    weather = call("get_weather", '{"city": "Paris"}')
    assert hermes(text) == [*weather, TextChunk("and then"), *weather]


def test_several_calls_back_to_back() -> None:
    text = "".join(block(f'{{"name": "f{i}", "arguments": {{"i": {i}}}}}') for i in range(4))
    assert hermes(text) == [s for i in range(4) for s in call(f"f{i}", f'{{"i": {i}}}')]


def test_compact_body_without_newlines() -> None:
    body = '{"name":"f","arguments":{"a":[1,2,{"b":null}]}}'
    assert hermes(f"<tool_call>{body}</tool_call>") == call("f", '{"a":[1,2,{"b":null}]}')


def test_quotes_braces_and_tags_inside_strings() -> None:
    arguments = r'{"code": "print(\"}{\")", "note": "a \\ b", "html": "<tool_call"}'
    text = block(f'{{"name": "run", "arguments": {arguments}}}')
    assert hermes(text) == call("run", arguments)


def test_unicode_arguments() -> None:
    arguments = '{"city": "東京", "mood": "☀️😀", "escaped": "\\u00e9\\ud83d\\ude00"}'
    text = block(f'{{"name": "weather", "arguments": {arguments}}}')
    assert hermes(text) == call("weather", arguments)


def test_arguments_first() -> None:
    text = block('{"arguments": {"city": "Paris"}, "name": "get_weather"}')
    assert hermes(text) == call("get_weather", '{"city": "Paris"}')


def test_arguments_as_a_json_string_are_decoded() -> None:
    encoded = json.dumps(json.dumps({"city": "Zürich 😀", "q": 'say "hi"\n'}))
    text = block(f'{{"name": "f", "arguments": {encoded}}}')
    assert hermes(text) == call("f", json.dumps({"city": "Zürich 😀", "q": 'say "hi"\n'}))


def test_arguments_as_an_ascii_escaped_json_string() -> None:
    encoded = json.dumps(json.dumps({"e": "😀é"}, ensure_ascii=False), ensure_ascii=True)
    assert "\\ud83d" in encoded
    text = block(f'{{"name": "f", "arguments": {encoded}}}')
    assert hermes(text) == call("f", '{"e": "😀é"}')


def test_arguments_first_as_a_string() -> None:
    assert hermes(block('{"arguments": "{\\"a\\": 1}", "name": "f"}')) == call("f", '{"a": 1}')


@pytest.mark.parametrize(
    "body",
    ['{"name": "f"}', '{"name": "f", "arguments": null}', '{"name": "f", "arguments": ""}'],
)
def test_missing_or_empty_arguments_are_an_empty_object(body: str) -> None:
    assert hermes(block(body)) == call("f", "{}")


def test_parameters_key_and_extra_keys() -> None:
    body = '{"id": 7, "name": "f", "extra": {"x": ["}"]}, "parameters": {"a": true}}'
    assert hermes(block(body)) == call("f", '{"a": true}')


def test_missing_close_tag_after_a_complete_call_at_the_end() -> None:
    assert hermes("<tool_call>\n" + WEATHER) == call("get_weather", '{"city": "Paris"}')
    body = '{"arguments": {"a": 1}, "name": "f"}'
    assert hermes("<tool_call>" + body + "\n") == call("f", '{"a": 1}')


@pytest.mark.parametrize(
    "body",
    [
        "not json at all",
        '{"name": 42, "arguments": {}}',
        '{"name": "", "arguments": {}}',
        '{"arguments": {"a": 1}}',
        '{"arguments": {"a": 1}} trailing',
        '{"arguments": {"a": tru}, "name": "f"}',
        '["name", "f"]',
        "",
    ],
)
def test_malformed_bodies_fall_back_to_text(body: str) -> None:
    text = "Before " + block(body) + " after"
    assert hermes(text) == [TextChunk(text)]


def test_unterminated_call_without_a_name_falls_back_to_text_at_the_end() -> None:
    text = 'Hi <tool_call>\n{"arguments": {"a": 1}, "na'
    assert hermes(text) == [TextChunk(text)]


def test_a_lone_open_tag_is_text() -> None:
    assert hermes("use the <tool_call> tag") == [TextChunk("use the <tool_call> tag")]
    assert hermes("<tool_call>") == [TextChunk("<tool_call>")]
    assert hermes("a <tool_ca") == [TextChunk("a <tool_ca")]


def test_a_real_call_after_a_false_start() -> None:
    text = "Look: <tool_call> is a tag.\n" + block(WEATHER)
    assert hermes(text) == [
        TextChunk("Look: <tool_call> is a tag."),
        *call("get_weather", '{"city": "Paris"}'),
    ]


def test_a_started_call_that_breaks_is_ended_with_what_was_streamed() -> None:
    text = block('{"name": "f", "arguments": {"a": 1} oops}') + "\nok"
    assert hermes(text) == [*call("f", '{"a": 1}'), TextChunk("ok")]
    text = block('{"name": "f", "arguments": {"a": 1}, 5}')
    assert hermes(text) == call("f", '{"a": 1}')


def test_a_started_call_broken_before_its_arguments_gets_an_empty_object() -> None:
    assert hermes(block('{"name": "f", oops}')) == call("f", "{}")


def test_a_started_call_unterminated_at_the_end_is_ended() -> None:
    text = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Pa'
    assert hermes(text) == call("get_weather", '{"city": "Pa')
    assert hermes('<tool_call>\n{"name": "f", "argu') == call("f", "{}")


def test_name_and_arguments_stream_as_they_arrive() -> None:
    parser = HermesToolParser()
    assert parser.feed("Sure.\n<tool_") == [TextChunk("Sure.")]
    assert parser.feed('call>\n{"name": "get_weather", ') == [ToolCallBegin("get_weather")]
    assert parser.feed('"arguments": {"city": "Pa') == [ToolCallArguments('{"city": "Pa')]
    assert parser.feed('ris"}}\n</tool') == [ToolCallArguments('ris"}')]
    assert parser.feed("_call>") == [ToolCallEnd()]
    assert parser.flush() == []


def test_string_arguments_stream_decoded() -> None:
    parser = HermesToolParser()
    parser.feed('<tool_call>{"name": "f", "arguments": "{\\"a\\": \\')
    assert merged(parser.feed('"x\\u00')) == [ToolCallArguments('"x')]
    assert merged(parser.feed("e9\\ud83d")) == [ToolCallArguments("é")]
    assert merged(parser.feed('\\ude00\\"}"}</tool_call>')) == [
        ToolCallArguments('😀"}'),
        ToolCallEnd(),
    ]


@pytest.mark.parametrize(
    ("raw", "complete"),
    [
        ("abc", "abc"),
        ("ab\\", "ab"),
        ('ab\\"', 'ab\\"'),
        ("ab\\\\", "ab\\\\"),
        ("ab\\u00e", "ab"),
        ("ab\\u00e9", "ab\\u00e9"),
        ("ab\\ud83d", "ab"),
        ("ab\\ud83d\\", "ab"),
        ("ab\\ud83d\\ude0", "ab"),
        ("ab\\ud83d\\ude00", "ab\\ud83d\\ude00"),
        ("ab\\ud83dx", "ab\\ud83dx"),
    ],
)
def test_complete_escapes(raw: str, complete: str) -> None:
    assert complete_escapes(raw) == complete


ATOMS = ['"', "\\", "{", "}", "[", "]", ":", ",", " ", "\n", "\t", "a", "Z", "é", "中文"]
ATOMS += ["😀", "<", "</", ">", "tool", "\u2028", "'", "/"]


def random_json(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.choice(["str", "int", "float", "bool", "null", "list", "dict"][: 7 - depth])
    if kind == "str":
        return "".join(rng.choice(ATOMS) for _ in range(rng.randint(0, 8)))
    if kind == "int":
        return rng.randint(-(10**6), 10**6)
    if kind == "float":
        return rng.uniform(-1e3, 1e3)
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "null":
        return None
    size = rng.randint(0, 4)
    if kind == "list":
        return [random_json(rng, depth + 1) for _ in range(size)]
    return {random_json(rng, 5): random_json(rng, depth + 1) for _ in range(size)}


@pytest.mark.parametrize("seed", range(40))
def test_any_split_of_valid_calls_streams_the_exact_arguments(seed: int) -> None:
    rng = random.Random(seed)
    calls = []
    text = "Calling." if rng.random() < 0.5 else ""
    for i in range(rng.randint(1, 3)):
        arguments = {f"k{j}": random_json(rng) for j in range(rng.randint(0, 4))}
        ascii_only = rng.random() < 0.5
        expected = json.dumps(arguments, ensure_ascii=ascii_only)
        if rng.random() < 0.3:  # arguments given as a JSON-encoded string
            value = json.dumps(expected, ensure_ascii=rng.random() < 0.5)
        else:
            value = expected
        if rng.random() < 0.3:
            body = f'{{"arguments": {value}, "name": "tool_{i}"}}'
        else:
            body = f'{{"name": "tool_{i}", "arguments": {value}}}'
        text += block(body) + "\n"
        calls.append((f"tool_{i}", expected))
    for pieces in [list(text), *(random_pieces(text, seed * 100 + k) for k in range(10))]:
        segments = merged(run(HermesToolParser(), pieces))
        found, current = [], None
        for segment in segments:
            assert not isinstance(segment, TextChunk) or segment.text == "Calling."
            if isinstance(segment, ToolCallBegin):
                current = (segment.name, "")
            elif isinstance(segment, ToolCallArguments):
                assert current is not None
                current = (current[0], current[1] + segment.text)
            elif isinstance(segment, ToolCallEnd):
                found.append(current)
                current = None
        assert found == calls


def test_raw_control_characters_in_strings_are_escaped() -> None:
    text = block('{"name": "run", "arguments": {"code": "a\n\tb"}}')
    assert hermes(text) == call("run", '{"code": "a\\n\\tb"}')
    text = block('{"name": "run", "arguments": "{\\"code\\": 1}\n"}')
    assert hermes(text) == call("run", '{"code": 1}\n')


def test_lone_surrogates_become_replacement_characters() -> None:
    text = block('{"name": "f\\ud83d", "arguments": "{\\"a\\": \\"\\ude00x\\"}"}')
    assert hermes(text) == call("f\ufffd", '{"a": "\ufffdx"}')


def test_string_arguments_with_an_invalid_escape_stream_up_to_it() -> None:
    text = block('{"name": "f", "arguments": "{\\"a\\": \\"x\\<y\\"}"}')
    assert hermes(text) == call("f", '{"a": "x')


# JSON nested 1,500 levels: past the interpreter's stack, where json.loads raises
# RecursionError rather than a ValueError. It must be malformed output, not a crash.
DEEP = "[" * 1500 + "]" * 1500


@pytest.mark.parametrize(
    "body",
    [
        '{"arguments": ' + DEEP + ', "name": "f"}',
        '{"name": ' + DEEP + ', "arguments": {}}',
    ],
)
def test_json_nested_past_the_stack_before_the_call_began_is_text(body: str) -> None:
    text = "Before " + block(body) + " after"
    assert hermes(text) == [TextChunk(text)]


def test_arguments_nested_past_the_stack_end_the_started_call() -> None:
    text = block('{"name": "f", "arguments": ' + DEEP + ', "extra": 1}') + "\nok"
    assert hermes(text) == [*call("f", DEEP), TextChunk("ok")]
