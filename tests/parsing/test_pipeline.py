import itertools
import json
import random
from typing import Any

import pytest

from openscope.core.events import Event, PartDelta, PartEnd, PartKind, PartStart
from openscope.core.request import ToolSpec
from openscope.parsing.assembler import PartAssembler
from openscope.parsing.pipeline import OutputParser
from openscope.parsing.segments import (
    ReasoningChunk,
    Segment,
    TextChunk,
    ToolCallArguments,
    ToolCallBegin,
    ToolCallEnd,
)
from tests.parsing.chunking import parse_all_ways, splits

TOOLS = [
    ToolSpec(
        "get_weather",
        parameters={"type": "object", "properties": {"city": {"type": "string"}}},
    )
]
HERMES_CALL = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'
CODER_CALL = (
    "<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n"
    "</function>\n</tool_call>"
)
WEATHER = [ToolCallBegin("get_weather"), ToolCallArguments('{"city": "Paris"}'), ToolCallEnd()]


def parse(text: str, **options: Any) -> list[Segment]:
    options.setdefault("tool_format", None)
    return parse_all_ways(lambda: OutputParser(**options), text)


def test_no_reasoning_no_tools_passes_text_through() -> None:
    text = "<think>x</think> <tool_call>{}</tool_call>"
    assert parse(text, reasoning=False) == [TextChunk(text)]


def test_reasoning_only() -> None:
    assert parse("<think>\nhmm\n</think>\n\nHi", reasoning=True) == [
        ReasoningChunk("hmm"),
        TextChunk("Hi"),
    ]


def test_tool_call_after_reasoning() -> None:
    text = f"<think>\nThe user wants weather.\n</think>\n\n{HERMES_CALL}"
    assert parse(text, reasoning=True, tool_format="hermes") == [
        ReasoningChunk("The user wants weather."),
        *WEATHER,
    ]


def test_tool_call_after_reasoning_opened_in_the_prompt() -> None:
    text = f"Need weather.\n</think>\n\nOne moment.\n{CODER_CALL}"
    options = {"reasoning": True, "start_in_reasoning": True}
    assert parse(text, **options, tool_format="qwen3_coder", tools=TOOLS) == [
        ReasoningChunk("Need weather."),
        TextChunk("One moment."),
        *WEATHER,
    ]


def test_a_tool_call_inside_reasoning_stays_reasoning() -> None:
    text = f"<think>maybe {HERMES_CALL}</think>{HERMES_CALL}"
    assert parse(text, reasoning=True, tool_format="hermes") == [
        ReasoningChunk(f"maybe {HERMES_CALL}"),
        *WEATHER,
    ]


def test_tools_without_reasoning() -> None:
    assert parse(HERMES_CALL + "\n" + HERMES_CALL, reasoning=False, tool_format="hermes") == [
        *WEATHER,
        *WEATHER,
    ]


def test_unclosed_reasoning_and_malformed_call_at_the_end() -> None:
    assert parse("<think>long thought", reasoning=True, tool_format="hermes") == [
        ReasoningChunk("long thought")
    ]
    text = "<think>a</think>\n\n<tool_call>\n{oops"
    assert parse(text, reasoning=True, tool_format="hermes") == [
        ReasoningChunk("a"),
        TextChunk("<tool_call>\n{oops"),
    ]


def test_in_reasoning() -> None:
    parser = OutputParser(reasoning=True, start_in_reasoning=True, tool_format="hermes")
    assert parser.in_reasoning
    parser.feed("x</think>")
    assert not parser.in_reasoning
    assert not OutputParser(reasoning=False, tool_format=None).in_reasoning


def test_unknown_tool_format_is_refused() -> None:
    with pytest.raises(ValueError):
        OutputParser(reasoning=False, tool_format="xml")  # type: ignore[arg-type]


def events_for(pieces: list[str]) -> list[Event]:
    ids = itertools.count()
    parser = OutputParser(reasoning=True, tool_format="hermes")
    parts = PartAssembler(0, lambda: f"call_{next(ids)}")
    events: list[Event] = []
    for piece in pieces:
        events += parts.feed(parser.feed(piece))
    events += parts.feed(parser.flush()) + parts.finish()
    return events


def test_end_to_end_events_agree_for_every_split() -> None:
    text = f"<think>\nplan\n</think>\n\nSure.\n{HERMES_CALL}\n{HERMES_CALL}"
    for pieces in splits(text):
        events = events_for(pieces)
        starts = [e for e in events if isinstance(e, PartStart)]
        assert [(s.part, s.kind, s.tool_call_id) for s in starts] == [
            (0, PartKind.REASONING, None),
            (1, PartKind.TEXT, None),
            (2, PartKind.TOOL_CALL, "call_0"),
            (3, PartKind.TOOL_CALL, "call_1"),
        ]
        assert [e.part for e in events if isinstance(e, PartEnd)] == [0, 1, 2, 3]
        texts = ["", "", "", ""]
        for event in events:
            if isinstance(event, PartDelta):
                texts[event.part] += event.text
        assert texts[:2] == ["plan", "Sure."]
        assert [json.loads(t) for t in texts[2:]] == [{"city": "Paris"}] * 2


FUZZ_ATOMS = [
    "<tool_call>", "</tool_call>", "<think>", "</think>", "<function=f>", "<function=",
    "</function>", "<parameter=a>", "</parameter>", '{"name": "f"', '"arguments"', ":", ",",
    "{", "}", '"', "\\", "\n", " ", "x", "😀", "<", ">", "null", '"a"', "1", "[", "]", "\\u",
    "d83d", '{"a": "', '"}}\n</tool_call>', '"arguments": "{\\"a\\": \\"', "\\ud83d",
]  # fmt: skip


@pytest.mark.parametrize("seed", range(150))
def test_random_markup_never_raises_and_calls_stay_balanced(seed: int) -> None:
    rng = random.Random(seed)
    text = "".join(rng.choice(FUZZ_ATOMS) for _ in range(rng.randint(0, 30)))
    all_options: list[dict[str, Any]] = [
        {"reasoning": True, "tool_format": "hermes"},
        {"reasoning": True, "start_in_reasoning": True, "tool_format": "qwen3_coder"},
        {"reasoning": False, "tool_format": "qwen3_coder", "tools": TOOLS},
    ]
    for options in all_options:
        segments = parse_all_ways(lambda: OutputParser(**options), text, seeds=3)  # noqa: B023
        in_call = False
        for segment in segments:
            if isinstance(segment, ToolCallBegin | ToolCallEnd):
                assert in_call is isinstance(segment, ToolCallEnd)
                in_call = not in_call
            else:
                assert in_call is isinstance(segment, ToolCallArguments)
        assert not in_call
