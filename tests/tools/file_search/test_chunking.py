from __future__ import annotations

import itertools
from collections.abc import Sequence

from openscope.core.knowledge import ChunkingStrategy
from openscope.tools.file_search.chunking import chunk_text, split_units
from tests.engine.knowledge.fake_embedder import FakeEmbedder, words

PROSE = " ".join(
    f"Sentence number {i} talks about topic {i % 7} in plain words." for i in range(300)
)


def test_units_join_back_into_the_text_exactly() -> None:
    text = (
        "  Hello,   world!\n\n阿里云百炼X1手机的屏幕很大。 supercalifragilisticexpialidocious\tend "
    )
    units = split_units(text)
    assert "".join(units) == text
    assert all(len(unit.strip()) <= 16 for unit in units)


async def test_chunks_stay_within_the_limit_and_cover_the_text() -> None:
    embedder = FakeEmbedder()
    strategy = ChunkingStrategy(max_chunk_size_tokens=100, chunk_overlap_tokens=30)
    chunks = await chunk_text(PROSE, strategy, embedder.count_tokens)
    assert len(chunks) > 10
    for chunk in chunks:
        assert chunk.tokens == len(words(chunk.text))  # the counter's overhead is not counted
        assert 70 <= chunk.tokens <= 100 or chunk is chunks[-1]
    # every chunk is a slice of the text, in order, and together they cover all of it
    at = 0
    for chunk in chunks:
        start = PROSE.find(chunk.text, max(0, at - len(chunk.text)))
        assert start != -1 and start <= at
        at = start + len(chunk.text)
    assert at == len(PROSE)


async def test_each_chunk_overlaps_the_one_before_by_at_most_the_overlap() -> None:
    embedder = FakeEmbedder()
    strategy = ChunkingStrategy(max_chunk_size_tokens=120, chunk_overlap_tokens=40)
    chunks = await chunk_text(PROSE, strategy, embedder.count_tokens)
    for before, after in itertools.pairwise(chunks):
        shared = _shared(before.text, after.text)
        assert 30 <= len(words(shared)) <= 40


async def test_no_overlap() -> None:
    embedder = FakeEmbedder()
    chunks = await chunk_text(PROSE, ChunkingStrategy(100, 0), embedder.count_tokens)
    assert "".join(c.text for c in chunks) == PROSE


async def test_chinese_text_without_spaces_is_chunked() -> None:
    text = "阿里云百炼手机的电池可以使用两天。" * 40
    embedder = FakeEmbedder()
    chunks = await chunk_text(text, ChunkingStrategy(100, 20), embedder.count_tokens)
    assert len(chunks) >= 6
    assert all(c.tokens <= 100 for c in chunks)


async def test_counts_are_batched_and_units_counted_once() -> None:
    embedder = FakeEmbedder()
    await chunk_text(PROSE * 3, ChunkingStrategy(400, 100), embedder.count_tokens)
    assert embedder.count_calls <= 4


async def test_a_counter_that_counts_more_at_joints_is_still_obeyed() -> None:
    """Units counted apart sum to less than the whole: every chunk is counted whole, and
    chunks over the limit are packed again."""

    async def count(texts: Sequence[str]) -> list[int]:
        # one token per word, plus one per ten words counted together
        return [len(words(t)) + len(words(t)) // 10 for t in texts]

    chunks = await chunk_text(PROSE, ChunkingStrategy(100, 20), count)
    assert all(c.tokens <= 100 for c in chunks)
    assert all(c.tokens == len(words(c.text)) + len(words(c.text)) // 10 for c in chunks)


async def test_blank_text_has_no_chunks() -> None:
    assert await chunk_text("  \n ", ChunkingStrategy(), FakeEmbedder().count_tokens) == []


def _shared(before: str, after: str) -> str:
    for size in range(min(len(before), len(after)), 0, -1):
        if before.endswith(after[:size]):
            return after[:size]
    return ""
