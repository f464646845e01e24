import pytest

from openscope.parsing.segments import ReasoningChunk, Segment, TextChunk
from openscope.parsing.think import ThinkParser
from tests.parsing.chunking import parse_all_ways


def think(text: str, start_in_reasoning: bool = False) -> list[Segment]:
    return parse_all_ways(lambda: ThinkParser(start_in_reasoning), text)


def test_reasoning_then_answer_without_the_template_newlines() -> None:
    assert think("<think>\nLet me think.\n</think>\n\nThe answer is 4.") == [
        ReasoningChunk("Let me think."),
        TextChunk("The answer is 4."),
    ]


def test_whitespace_inside_reasoning_and_answer_is_kept() -> None:
    assert think("<think>a\n\n  b</think>x\n\ny  ") == [
        ReasoningChunk("a\n\n  b"),
        TextChunk("x\n\ny  "),
    ]


def test_an_empty_think_block_yields_no_reasoning() -> None:
    assert think("<think>\n\n</think>\n\nHello") == [TextChunk("Hello")]


def test_whitespace_before_the_think_block_is_dropped() -> None:
    assert think("\n <think>r</think>a") == [ReasoningChunk("r"), TextChunk("a")]


def test_output_without_a_think_block_is_all_answer() -> None:
    assert think("Hello <think>not reasoning</think>") == [
        TextChunk("Hello <think>not reasoning</think>")
    ]


def test_leading_whitespace_of_an_answer_without_think_block_is_kept() -> None:
    assert think("\n\nHello") == [TextChunk("\n\nHello")]


def test_something_that_only_looks_like_a_tag_is_answer_text() -> None:
    assert think("<thinking>") == [TextChunk("<thinking>")]
    assert think("<th") == [TextChunk("<th")]
    assert think("<think") == [TextChunk("<think")]


def test_whitespace_only_output_is_kept() -> None:
    assert think(" \n") == [TextChunk(" \n")]


def test_start_in_reasoning_when_the_prompt_opened_the_block() -> None:
    assert think("\nI should add.\n</think>\n\n4", start_in_reasoning=True) == [
        ReasoningChunk("I should add."),
        TextChunk("4"),
    ]


def test_start_in_reasoning_treats_a_think_tag_as_reasoning_text() -> None:
    assert think("a<think>b</think>c", start_in_reasoning=True) == [
        ReasoningChunk("a<think>b"),
        TextChunk("c"),
    ]


def test_unclosed_block_is_all_reasoning() -> None:
    assert think("<think>\nstill thinking\n") == [ReasoningChunk("still thinking")]


def test_a_partial_close_tag_at_the_end_is_reasoning() -> None:
    assert think("<think>abc</thi") == [ReasoningChunk("abc</thi")]


def test_false_close_tag_is_reasoning_text() -> None:
    assert think("<think>a </thinker> b</think>c") == [
        ReasoningChunk("a </thinker> b"),
        TextChunk("c"),
    ]


def test_a_second_think_block_is_answer_text() -> None:
    assert think("<think>a</think>b<think>c</think>") == [
        ReasoningChunk("a"),
        TextChunk("b<think>c</think>"),
    ]


def test_unicode_reasoning() -> None:
    assert think("<think>让我想想 🤔</think>\n\n答案是四。") == [
        ReasoningChunk("让我想想 🤔"),
        TextChunk("答案是四。"),
    ]


def test_empty_output() -> None:
    assert think("") == []


def test_reasoning_is_streamed_before_the_block_closes() -> None:
    parser = ThinkParser()
    assert parser.feed("<th") == []
    assert not parser.in_reasoning
    assert parser.feed("ink>\nStep one") == [ReasoningChunk("Step one")]
    assert parser.in_reasoning
    # Trailing whitespace waits: it is dropped if `</think>` follows.
    assert parser.feed(".\n") == [ReasoningChunk(".")]
    assert parser.feed("Step two\n</") == [ReasoningChunk("\nStep two")]
    assert parser.feed("think>\n\n") == []
    assert not parser.in_reasoning
    assert parser.feed("Done") == [TextChunk("Done")]
    assert parser.flush() == []


@pytest.mark.parametrize("start_in_reasoning", [False, True])
def test_in_reasoning_from_the_start(start_in_reasoning: bool) -> None:
    assert ThinkParser(start_in_reasoning).in_reasoning is start_in_reasoning
