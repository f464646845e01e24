"""The upstream stream normalised into core events, whatever each engine's quirks."""

from __future__ import annotations

from typing import Any

from openscope.backends.openai_upstream.dialect import DIALECTS
from openscope.backends.openai_upstream.stream import ChunkReader
from openscope.core.events import FinishReason
from openscope.core.fold import fold
from openscope.core.messages import ReasoningPart, TextPart, ToolCallPart
from tests.backends.openai_upstream.fakes import delta, usage_chunk


def read(dialect: str, *chunks: dict[str, Any]):  # type: ignore[no-untyped-def]
    reader = ChunkReader(DIALECTS[dialect])  # type: ignore[index]
    events = [e for chunk in chunks for e in reader.feed(chunk)]
    events += list(reader.finish())
    return reader, fold(events)


def test_vllm_reasoning_field_becomes_a_reasoning_part() -> None:
    _, result = read(
        "vllm",
        delta(role="assistant", reasoning="Let me think."),
        delta(content="Four."),
        delta(finish="stop"),
        usage_chunk(10, 5),
    )
    (choice,) = result.choices
    assert choice.message.parts == (ReasoningPart("Let me think."), TextPart("Four."))
    assert result.usage.input_tokens == 10 and result.usage.output_tokens == 5


def test_sglang_reasoning_content_is_read_too() -> None:
    _, result = read("sglang", delta(reasoning_content="hm"), delta(content="ok", finish="stop"))
    assert result.choices[0].message.reasoning == "hm"


def test_tool_call_arguments_split_across_chunks_are_assembled_once() -> None:
    call = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "get_weather"}}
    _, result = read(
        "vllm",
        delta(tool_calls=[call]),
        delta(tool_calls=[{"index": 0, "function": {"arguments": '{"ci'}}]),
        delta(tool_calls=[{"index": 0, "function": {"arguments": 'ty": "Paris"}'}}]),
        delta(finish="tool_calls"),
    )
    (choice,) = result.choices
    assert choice.message.parts == (ToolCallPart("call_1", "get_weather", '{"city": "Paris"}'),)
    assert choice.finish_reason is FinishReason.TOOL_CALLS


def test_whole_calls_in_one_chunk_and_object_arguments() -> None:
    calls = [
        {"index": 0, "id": "a", "function": {"name": "f", "arguments": {"x": 1}}},
        {"index": 1, "id": "b", "function": {"name": "g", "arguments": ""}},
    ]
    # an engine that says "stop" after calling tools still called tools
    _, result = read("ollama", delta(tool_calls=calls, finish="stop"))
    (choice,) = result.choices
    assert choice.message.tool_calls == (
        ToolCallPart("a", "f", '{"x":1}'),
        ToolCallPart("b", "g", "{}"),
    )
    assert choice.finish_reason is FinishReason.TOOL_CALLS


def test_usage_in_the_last_chunk_with_cached_tokens() -> None:
    _, result = read("llama-server", delta(content="hi", finish="stop"), usage_chunk(40, 2, 32))
    assert result.usage.cached_tokens == 32


def test_complete_only_once_every_choice_ended() -> None:
    reader, _ = read("vllm", delta(content="a"), delta(index=1, content="b", finish="stop"))
    assert not reader.complete
    reader, _ = read("vllm", delta(content="a", finish="length"))
    assert reader.complete


def test_raw_text_from_an_engine_without_parsers_is_parsed() -> None:
    """An engine run without a tool-call or reasoning parser returns the model's text as
    is: openscope finds the think block and the Hermes tool call in it."""
    from openscope.parsing.pipeline import OutputParser

    reader = ChunkReader(
        DIALECTS["vllm"], lambda: OutputParser(reasoning=True, tool_format="hermes")
    )
    chunks = [
        delta(content="<think>Weather, so"),
        delta(content=" a tool.</think>Checking. <tool_"),
        delta(content='call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>'),
        delta(finish="stop"),
    ]
    events = [e for chunk in chunks for e in reader.feed(chunk)] + list(reader.finish())
    (choice,) = fold(events).choices
    assert choice.message.reasoning == "Weather, so a tool."
    assert choice.message.text.strip() == "Checking."
    (call,) = choice.message.tool_calls
    assert call.name == "get_weather" and call.arguments == '{"city": "Paris"}'
    assert choice.finish_reason is FinishReason.TOOL_CALLS


def test_tool_calls_without_an_index_or_reusing_index_zero() -> None:
    no_index = [
        delta(tool_calls=[{"id": "a", "function": {"name": "f", "arguments": '{"x"'}}]),
        delta(tool_calls=[{"function": {"arguments": ": 1}"}}]),
        delta(tool_calls=[{"id": "b", "function": {"name": "g", "arguments": "{}"}}]),
        delta(finish="tool_calls"),
    ]
    _, result = read("ollama", *no_index)
    assert [(c.id, c.name, c.arguments) for c in result.choices[0].message.tool_calls] == [
        ("a", "f", '{"x": 1}'),
        ("b", "g", "{}"),
    ]
    reused = [
        delta(tool_calls=[{"index": 0, "id": "a", "function": {"name": "f", "arguments": "{}"}}]),
        delta(tool_calls=[{"index": 0, "id": "b", "function": {"name": "g", "arguments": "{}"}}]),
        delta(finish="tool_calls"),
    ]
    _, result = read("vllm", *reused)
    assert [c.name for c in result.choices[0].message.tool_calls] == ["f", "g"]


def test_an_unknown_finish_word_does_not_end_the_choice() -> None:
    reader, _ = read("dashscope", delta(content="a", finish="null"), delta(content="b"))
    assert not reader.complete
