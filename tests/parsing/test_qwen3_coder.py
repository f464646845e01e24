import json
import random
from typing import Any

import pytest

from openscope.core.request import ToolSpec
from openscope.parsing.qwen3_coder import Qwen3CoderToolParser, convert_value
from openscope.parsing.segments import (
    Segment,
    TextChunk,
    ToolCallArguments,
    ToolCallBegin,
    ToolCallEnd,
)
from tests.parsing.chunking import merged, parse_all_ways, random_pieces, run

PROPERTIES: dict[str, Any] = {
    "city": {"type": "string"},
    "days": {"type": "integer"},
    "ratio": {"type": "number"},
    "metric": {"type": "boolean"},
    "filters": {"type": "object"},
    "tags": {"type": "array", "items": {"type": "string"}},
    "nothing": {"type": "null"},
    "limit": {"type": ["integer", "null"]},
    "either": {"anyOf": [{"type": "integer"}, {"type": "string"}]},
    "untyped": {"description": "no type"},
}
TOOLS = [
    ToolSpec("get_weather", parameters={"type": "object", "properties": PROPERTIES}),
    ToolSpec("get_time", parameters={"type": "object", "properties": {"tz": {"type": "string"}}}),
]


def coder(text: str) -> list[Segment]:
    return parse_all_ways(lambda: Qwen3CoderToolParser(TOOLS), text)


def call(name: str, arguments: str) -> list[Segment]:
    return [ToolCallBegin(name), ToolCallArguments(arguments), ToolCallEnd()]


def block(name: str, **params: str) -> str:
    inner = "".join(f"<parameter={k}>\n{v}\n</parameter>\n" for k, v in params.items())
    return f"<tool_call>\n<function={name}>\n{inner}</function>\n</tool_call>"


def test_one_call() -> None:
    text = block("get_weather", city="Paris", days="3")
    assert coder(text) == call("get_weather", '{"city": "Paris", "days": 3}')


def test_a_call_without_parameters() -> None:
    assert coder(block("get_time")) == call("get_time", "{}")


@pytest.mark.parametrize(
    ("param", "raw", "value"),
    [
        ("city", "Paris", "Paris"),
        ("city", "\nTwo lines\n", "\nTwo lines\n"),
        ("city", "  padded  ", "  padded  "),
        ("city", "42", "42"),
        ("city", "null", "null"),
        ("days", "3", 3),
        ("days", " -12 ", -12),
        ("days", "3.0", 3),
        ("days", "three", "three"),
        ("days", "3.5", "3.5"),
        ("ratio", "0.25", 0.25),
        ("ratio", "2", 2),
        ("ratio", "1e3", 1000.0),
        ("ratio", "NaN", "NaN"),
        ("ratio", "null", None),
        ("metric", "true", True),
        ("metric", "False", False),
        ("metric", "yes", "yes"),
        ("filters", '{"a": [1, "x"]}', {"a": [1, "x"]}),
        ("filters", "{broken", "{broken"),
        ("filters", "[1]", "[1]"),
        ("filters", '{"a": NaN}', '{"a": NaN}'),
        ("tags", '["a", "b"]', ["a", "b"]),
        ("tags", "a, b", "a, b"),
        ("nothing", "null", None),
        ("limit", "null", None),
        ("limit", "5", 5),
        ("either", "5", 5),
        ("either", "five", "five"),
        ("untyped", "5", "5"),
        ("unknown", "true", "true"),
    ],
)
def test_values_take_the_schema_type(param: str, raw: str, value: Any) -> None:
    expected = json.dumps({param: value}, ensure_ascii=False)
    assert coder(block("get_weather", **{param: raw})) == call("get_weather", expected)


def test_convert_value_strips_one_newline_on_each_side_of_strings() -> None:
    assert convert_value("\n\nx\n\n", {"type": "string"}) == "\nx\n"
    assert convert_value("\n7\n", {"type": "integer"}) == 7
    assert convert_value("\n7\n", None) == "7"


def test_an_unknown_tool_keeps_strings() -> None:
    assert coder(block("other", n="1")) == call("other", '{"n": "1"}')


def test_several_calls_and_text_around_them() -> None:
    text = (
        "Checking.\n"
        + block("get_weather", city="東京 😀")
        + "\n"
        + block("get_time", tz="Asia/Tokyo")
        + "\nDone."
    )
    assert coder(text) == [
        TextChunk("Checking."),
        *call("get_weather", '{"city": "東京 😀"}'),
        *call("get_time", '{"tz": "Asia/Tokyo"}'),
        TextChunk("Done."),
    ]


def test_values_with_markup_and_json_characters() -> None:
    code = "if a < b and c > d:\n    print(\"}{\", '<param')\n</paramet"
    text = block("get_weather", city=code)
    assert coder(text) == call("get_weather", json.dumps({"city": code}, ensure_ascii=False))


def test_missing_closing_tags_are_forgiven() -> None:
    text = "<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n<parameter=days>\n2\n"
    expected = call("get_weather", '{"city": "Paris", "days": 2}')
    assert coder(text + "</function>\n</tool_call>") == expected
    assert coder(text + "</tool_call>") == expected
    assert coder(text) == expected


def test_stray_text_between_parameters_is_ignored() -> None:
    text = (
        "<tool_call><function=get_weather>\nnoise <parameter=days>4</parameter>\n"
        "more noise</function></tool_call>"
    )
    assert coder(text) == call("get_weather", '{"days": 4}')


def test_streaming_order() -> None:
    parser = Qwen3CoderToolParser(TOOLS)
    assert parser.feed("Ok.\n<tool_call>\n<function=get_wea") == [TextChunk("Ok.")]
    assert parser.feed("ther>\n<parameter=city>\nPar") == [
        ToolCallBegin("get_weather"),
        ToolCallArguments("{"),
    ]
    assert parser.feed("is\n</parameter>\n<parameter=days>\n") == [
        ToolCallArguments('"city": "Paris"')
    ]
    assert parser.feed("5\n</parameter>\n</function>") == [
        ToolCallArguments(', "days": 5'),
        ToolCallArguments("}"),
        ToolCallEnd(),
    ]
    assert parser.feed("\n</tool_call>") == []
    assert parser.flush() == []


@pytest.mark.parametrize(
    "body",
    [
        "just text",
        '{"name": "get_weather", "arguments": {}}',
        "<function=>\n</function>",
        "<function=get\nweather>",
        "<function=get_weather",
        "",
    ],
)
def test_malformed_blocks_fall_back_to_text(body: str) -> None:
    text = f"Before <tool_call>\n{body}\n</tool_call> after"
    assert coder(text) == [TextChunk(text)]


def test_unterminated_function_tag_at_the_end_is_text() -> None:
    text = "Hi <tool_call>\n<function=get_wea"
    assert coder(text) == [TextChunk(text)]


def test_a_started_call_with_a_broken_parameter_tag_is_ended() -> None:
    text = block("get_weather", days="1") + "<tool_call><function=get_time>\n<parameter=a\nb>"
    assert coder(text) == [*call("get_weather", '{"days": 1}'), *call("get_time", "{}")]


def random_value(rng: random.Random, kind: str) -> tuple[str, Any]:
    """Raw parameter text and the value it should become."""
    if kind == "string":
        atoms = ["a", " ", "\n", "<", ">", "/", '"', "{", "}", "\\", "é", "中文", "😀", "para"]
        text = "".join(rng.choice(atoms) for _ in range(rng.randint(0, 10)))
        return text, text
    if kind == "integer":
        number = rng.randint(-(10**9), 10**9)
        return str(number), number
    if kind == "number":
        ratio = rng.uniform(-1e6, 1e6)
        return repr(ratio), ratio
    if kind == "boolean":
        flag = rng.random() < 0.5
        return str(flag).lower(), flag
    nested = {"k": [1, "two", {"three": None}], "ü": "😀"}
    value: Any = nested if kind == "object" else list(nested.items())
    value = json.loads(json.dumps(value))
    return json.dumps(value, ensure_ascii=rng.random() < 0.5), value


KINDS = {"city": "string", "days": "integer", "ratio": "number", "metric": "boolean"}
KINDS |= {"filters": "object", "tags": "array"}


@pytest.mark.parametrize("seed", range(30))
def test_any_split_streams_the_exact_converted_arguments(seed: int) -> None:
    rng = random.Random(seed)
    names = rng.sample(sorted(KINDS), rng.randint(0, len(KINDS)))
    raws, expected = {}, {}
    for name in names:
        raws[name], expected[name] = random_value(rng, KINDS[name])
    text = block("get_weather", **raws)
    want = [*call("get_weather", json.dumps(expected, ensure_ascii=False))]
    for pieces in [list(text), *(random_pieces(text, seed * 100 + k) for k in range(10))]:
        assert merged(run(Qwen3CoderToolParser(TOOLS), pieces)) == want


# JSON nested 1,500 levels: past the interpreter's stack, where json.loads raises
# RecursionError rather than a ValueError. It must stay text, as invalid JSON does.
DEEP = "[" * 1500 + "]" * 1500


def test_a_value_nested_past_the_stack_stays_a_string() -> None:
    assert convert_value(DEEP, {"type": "array"}) == DEEP
    text = block("get_weather", tags=DEEP, days="2")
    assert coder(text) == call("get_weather", json.dumps({"tags": DEEP, "days": 2}))


def test_a_value_nested_past_the_request_bound_stays_a_string() -> None:
    # 64 levels parse; 65 would be refused when the client sends the call back
    at_bound, past_bound = "[" * 64 + "]" * 64, "[" * 65 + "]" * 65
    assert convert_value(at_bound, {"type": "array"}) == json.loads(at_bound)
    assert convert_value(past_bound, {"type": "array"}) == past_bound
