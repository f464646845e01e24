"""Feeding a parser one text in many different splits and checking they all agree."""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

from openscope.parsing.segments import (
    ReasoningChunk,
    Segment,
    TextChunk,
    ToolCallArguments,
)

_TOKEN = re.compile(
    r"</?(?:tool_call|think|function|parameter)>|<(?:function|parameter)=|\s+|\w+|[^\w\s]"
)


class Parser(Protocol):
    def feed(self, text: str) -> list[Segment]: ...

    def flush(self) -> list[Segment]: ...


def token_pieces(text: str) -> list[str]:
    """Roughly how a Qwen tokenizer cuts text: tags whole, words, runs of spaces, symbols."""
    pieces = _TOKEN.findall(text)
    assert "".join(pieces) == text
    return pieces


def random_pieces(text: str, seed: int) -> list[str]:
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(1, len(text)), min(len(text) - 1, rng.randint(1, 12))))
    bounds = [0, *cuts, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


def splits(text: str, seeds: int = 25) -> Iterator[list[str]]:
    """Whole, token by token, character by character, and `seeds` random splits."""
    yield [text]
    yield token_pieces(text)
    yield list(text)
    if len(text) > 1:
        for seed in range(seeds):
            yield random_pieces(text, seed)


def run(parser: Parser, pieces: Sequence[str]) -> list[Segment]:
    out: list[Segment] = []
    for piece in pieces:
        out += parser.feed(piece)
    out += parser.flush()
    return out


def merged(segments: Sequence[Segment]) -> list[Segment]:
    """Consecutive text, reasoning or argument slices joined into one segment each."""
    out: list[Segment] = []
    for segment in segments:
        last = out[-1] if out else None
        if isinstance(segment, TextChunk | ReasoningChunk | ToolCallArguments) and (
            type(last) is type(segment)
        ):
            out[-1] = type(segment)(last.text + segment.text)
        else:
            out.append(segment)
    return out


def parse_all_ways(new_parser: Callable[[], Parser], text: str, seeds: int = 25) -> list[Segment]:
    """The merged segments for `text`, asserting every split gives the same and that no
    segment carries empty text."""
    expected: list[Segment] | None = None
    for pieces in splits(text, seeds):
        raw = run(new_parser(), pieces)
        assert all(getattr(s, "text", "x") for s in raw), (pieces, raw)
        result = merged(raw)
        if expected is None:
            expected = result
        assert result == expected, pieces
    assert expected is not None
    return expected
