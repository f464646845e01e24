"""Cutting a text into chunks by OpenAI's static strategy, measured in the embedding
model's own tokens: each chunk at most `max_chunk_size_tokens`, each starting about
`chunk_overlap_tokens` before the previous one ended.

Counting every candidate chunk would be slow, so the text is first cut into small units (a
word with its trailing space, at most 16 characters; at most 8 CJK characters, which have
no spaces between words), each distinct unit is counted once, and units are packed greedily
by those counts. Units counted apart can sum to less than the whole (rarely, at a joint), so
every chunk is then counted whole, and one over the limit is packed again with a budget
smaller by its excess. A chunk is always a contiguous slice of the text, cut between units:
nothing is rewritten, and overlaps repeat the text exactly. The CPU work (cutting, packing,
joining) runs in a worker thread, so a long document never stalls the event loop."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from openscope.core.knowledge import ChunkingStrategy, IngestError
from openscope.tools.file_search.extract import ExtractionFailed

TokenCounter = Callable[[Sequence[str]], Awaitable[list[int]]]

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\u3000-\u303f\uff00-\uffef"
UNIT = re.compile(rf"\s*(?:[{_CJK}]{{1,8}}|[^\s{_CJK}]{{1,16}})\s*")
# Texts per count_tokens call.
COUNT_BATCH = 512
# Repacking rounds before a chunk still over the limit is kept (units are so short that
# one more round has never been needed; this only bounds a misbehaving counter).
MAX_ROUNDS = 16


@dataclass(frozen=True, slots=True)
class Chunk:
    text: str
    tokens: int


def split_units(text: str) -> list[str]:
    """The text as consecutive units that join back into it exactly."""
    return UNIT.findall(text)


async def chunk_text(
    text: str,
    strategy: ChunkingStrategy,
    count_tokens: TokenCounter,
    *,
    max_chunks: int | None = None,
) -> list[Chunk]:
    """The text's chunks, in order (none for a blank text). A text that cuts into more
    than `max_chunks` raises ExtractionFailed (invalid_file) as soon as the packing shows
    it, before the chunks are counted and long before they would be embedded."""
    if not text.strip():
        return []
    units = await asyncio.to_thread(split_units, text)
    overhead = (await count_tokens([""]))[0]  # what the counter adds to any text
    sizes = await _unit_sizes(units, count_tokens, overhead)
    limit = strategy.max_chunk_size_tokens
    budgets: dict[int, int] = {}
    measured: dict[tuple[int, int], int] = {}
    for _ in range(MAX_ROUNDS):
        spans = await asyncio.to_thread(
            _pack, sizes, limit, strategy.chunk_overlap_tokens, dict(budgets)
        )
        if max_chunks is not None and len(spans) > max_chunks:
            raise ExtractionFailed(
                IngestError.INVALID_FILE,
                f"the file cuts into more than {max_chunks} chunks of at most {limit} "
                "tokens, the most a file may have",
            )
        await _measure(units, spans, count_tokens, overhead, measured)
        over = [(i, j) for i, j in spans if measured[i, j] > limit and j - i > 1]
        if not over:
            break
        for i, j in over:
            budget = budgets.get(i, limit)
            budgets[i] = min(budget - 1, budget - (measured[i, j] - limit))
    return await asyncio.to_thread(_chunks, units, spans, measured)


def _join(units: list[str], spans: list[tuple[int, int]]) -> list[str]:
    return ["".join(units[i:j]) for i, j in spans]


def _chunks(
    units: list[str], spans: list[tuple[int, int]], measured: dict[tuple[int, int], int]
) -> list[Chunk]:
    return [Chunk("".join(units[i:j]), measured[i, j]) for i, j in spans]


async def _unit_sizes(units: list[str], count_tokens: TokenCounter, overhead: int) -> list[int]:
    distinct = await asyncio.to_thread(lambda: list(dict.fromkeys(units)))
    size: dict[str, int] = {}
    for at in range(0, len(distinct), COUNT_BATCH):
        batch = distinct[at : at + COUNT_BATCH]
        for unit, counted in zip(batch, await count_tokens(batch), strict=True):
            size[unit] = max(0, counted - overhead)
    return await asyncio.to_thread(lambda: [size[unit] for unit in units])


def _pack(
    sizes: Sequence[int], limit: int, overlap: int, budgets: dict[int, int]
) -> list[tuple[int, int]]:
    """Spans [i, j) of units: each as many units as its budget holds (one at least), the
    next starting as far back as `overlap` tokens allow (one unit later at least)."""
    spans = []
    start, n = 0, len(sizes)
    while start < n:
        budget = budgets.get(start, limit)
        end, total = start + 1, sizes[start]
        while end < n and total + sizes[end] <= budget:
            total += sizes[end]
            end += 1
        spans.append((start, end))
        if end >= n:
            break
        back, shared = end, 0
        while back - 1 > start and shared + sizes[back - 1] <= overlap:
            back -= 1
            shared += sizes[back]
        start = back
    return spans


async def _measure(
    units: list[str],
    spans: list[tuple[int, int]],
    count_tokens: TokenCounter,
    overhead: int,
    measured: dict[tuple[int, int], int],
) -> None:
    new = [span for span in spans if span not in measured]
    for at in range(0, len(new), COUNT_BATCH):
        batch = new[at : at + COUNT_BATCH]
        texts = await asyncio.to_thread(_join, units, batch)
        counts = await count_tokens(texts)
        for span, counted in zip(batch, counts, strict=True):
            measured[span] = max(0, counted - overhead)
