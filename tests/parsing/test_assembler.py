import itertools

from openscope.core.events import PartDelta, PartEnd, PartKind, PartStart
from openscope.parsing.assembler import PartAssembler
from openscope.parsing.segments import (
    ReasoningChunk,
    TextChunk,
    ToolCallArguments,
    ToolCallBegin,
    ToolCallEnd,
)


def assembler(choice: int = 0) -> PartAssembler:
    ids = itertools.count(1)
    return PartAssembler(choice, lambda: f"call_{next(ids)}")


def test_consecutive_text_extends_one_part() -> None:
    parts = assembler()
    assert parts.feed([TextChunk("Hel"), TextChunk("lo")]) == [
        PartStart(0, 0, PartKind.TEXT),
        PartDelta(0, 0, "Hel"),
        PartDelta(0, 0, "lo"),
    ]
    assert parts.feed([TextChunk("!")]) == [PartDelta(0, 0, "!")]
    assert parts.finish() == [PartEnd(0, 0)]
    assert parts.tool_calls == 0


def test_reasoning_then_text_then_tool_calls() -> None:
    parts = assembler(choice=2)
    events = parts.feed(
        [
            ReasoningChunk("think"),
            TextChunk("Checking."),
            ToolCallBegin("get_weather"),
            ToolCallArguments('{"city": '),
            ToolCallArguments('"Paris"}'),
            ToolCallEnd(),
            ToolCallBegin("get_time"),
            ToolCallArguments("{}"),
            ToolCallEnd(),
        ]
    )
    assert events == [
        PartStart(2, 0, PartKind.REASONING),
        PartDelta(2, 0, "think"),
        PartEnd(2, 0),
        PartStart(2, 1, PartKind.TEXT),
        PartDelta(2, 1, "Checking."),
        PartEnd(2, 1),
        PartStart(2, 2, PartKind.TOOL_CALL, tool_call_id="call_1", tool_name="get_weather"),
        PartDelta(2, 2, '{"city": '),
        PartDelta(2, 2, '"Paris"}'),
        PartEnd(2, 2),
        PartStart(2, 3, PartKind.TOOL_CALL, tool_call_id="call_2", tool_name="get_time"),
        PartDelta(2, 3, "{}"),
        PartEnd(2, 3),
    ]
    assert parts.tool_calls == 2
    assert parts.finish() == []


def test_text_after_a_call_opens_a_new_part() -> None:
    parts = assembler()
    events = parts.feed([ToolCallBegin("f"), ToolCallEnd(), TextChunk("after")])
    assert events[-2:] == [PartStart(0, 1, PartKind.TEXT), PartDelta(0, 1, "after")]
    assert parts.finish() == [PartEnd(0, 1)]


def test_empty_chunks_produce_nothing() -> None:
    parts = assembler()
    assert parts.feed([TextChunk(""), ReasoningChunk("")]) == []
    assert parts.feed([ToolCallBegin("f"), ToolCallArguments("")]) == [
        PartStart(0, 0, PartKind.TOOL_CALL, tool_call_id="call_1", tool_name="f")
    ]
    assert parts.finish() == [PartEnd(0, 0)]


def test_finish_closes_an_open_call_and_counts_it() -> None:
    parts = assembler()
    parts.feed([ToolCallBegin("f"), ToolCallArguments('{"a"')])
    assert parts.tool_calls == 0
    assert parts.finish() == [PartEnd(0, 0)]
    assert parts.tool_calls == 1
    assert parts.finish() == []


def test_arguments_and_ends_outside_a_call_are_ignored() -> None:
    parts = assembler()
    assert parts.feed([ToolCallArguments("{}"), ToolCallEnd()]) == []
    assert parts.feed([TextChunk("x"), ToolCallArguments("{}"), ToolCallEnd()]) == [
        PartStart(0, 0, PartKind.TEXT),
        PartDelta(0, 0, "x"),
    ]
    assert parts.tool_calls == 0


def test_a_begin_inside_an_open_call_closes_it() -> None:
    parts = assembler()
    events = parts.feed([ToolCallBegin("f"), ToolCallBegin("g"), ToolCallEnd()])
    assert [type(e) for e in events] == [PartStart, PartEnd, PartStart, PartEnd]
    assert parts.tool_calls == 2


def test_nothing_fed_finishes_with_nothing() -> None:
    assert assembler().finish() == []
