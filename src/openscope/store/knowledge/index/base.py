"""The chunk index: every chunk's vector and words, searched by vector, by keyword, or
both fused ("hybrid"). Two implementations share this class: SQLite (sqlite-vec + FTS5)
and PostgreSQL (pgvector + tsvector); each supplies the two rankings, the fusion is here.

Measuring retrieval (recall@k per mode) needs nothing else:

    matches = await index.search(
        store_ids=["vs_..."], text="question", vector=query_vector, limit=5, mode="vector"
    )  # -> [ChunkMatch(chunk_id, score), ...] best first

Scores are 0-1: "hybrid" and "keyword" are weighted reciprocal-rank fusion sums divided by
the best sum possible (ranked first in every list), "vector" is the cosine similarity
(clipped at 0)."""

from __future__ import annotations

import abc
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Literal

SearchMode = Literal["hybrid", "vector", "keyword"]
SEARCH_MODES: tuple[SearchMode, ...] = ("hybrid", "vector", "keyword")
# Reciprocal-rank fusion: a chunk at rank r of a ranking scores weight / (RRF_K + r).
# Measured on tests/data/knowledge_corpus (bench/retrieval_quality.py, recall@5 of 53
# questions): the usual k=60, made for rankings of a thousand documents, let the keyword
# ranking's near-random order for questions sharing no content word with their answer
# outweigh the vector ranking (hybrid 0.66, vector alone 0.83); a steep k and the keyword
# ranking at half weight keep its exact matches (codes, names) and lose none of the
# vector's (hybrid 0.87, with the query stopwords of terms.py). Nearby values (k 1-5,
# weight 0.35-0.7) scored within 0.04.
RRF_K = 1
VECTOR_WEIGHT = 1.0
KEYWORD_WEIGHT = 0.5
# How deep each ranking is read before fusion, against the results asked for.
DEPTH_FACTOR = 4
MIN_DEPTH = 40


@dataclass(frozen=True, slots=True)
class IndexedChunk:
    id: int
    store_id: str
    file_id: str
    text: str
    vector: Sequence[float]


@dataclass(frozen=True, slots=True)
class ChunkMatch:
    chunk_id: int
    score: float


class IndexUnavailable(RuntimeError):
    """The index cannot run here (say, PostgreSQL without pgvector): a start-up error."""


class ChunkIndex(abc.ABC):
    @abc.abstractmethod
    async def open(self) -> None:
        """Create what the index needs (idempotent); raises IndexUnavailable."""

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    async def add(self, chunks: Sequence[IndexedChunk]) -> None: ...

    @abc.abstractmethod
    async def remove(self, chunk_ids: Sequence[int]) -> None: ...

    @abc.abstractmethod
    async def remove_file(
        self, store_id: str, file_id: str, *, only: Sequence[int] | None = None
    ) -> None:
        """Remove the file's chunks in the store; with `only`, just those of these ids (an
        id the file no longer has is left alone, whoever has it now)."""

    @abc.abstractmethod
    async def remove_store(self, store_id: str) -> None: ...

    @abc.abstractmethod
    async def nearest(
        self,
        store_ids: Sequence[str],
        file_ids: Collection[str] | None,
        vector: Sequence[float],
        limit: int,
    ) -> list[tuple[int, float]]:
        """(chunk id, cosine similarity) of the nearest chunks, best first."""

    @abc.abstractmethod
    async def keyword(
        self,
        store_ids: Sequence[str],
        file_ids: Collection[str] | None,
        text: str,
        limit: int,
    ) -> list[int]:
        """Chunk ids ranked by keyword relevance (BM25 or the like), best first."""

    async def search(
        self,
        *,
        store_ids: Sequence[str],
        text: str,
        vector: Sequence[float],
        limit: int,
        mode: SearchMode = "hybrid",
        file_ids: Collection[str] | None = None,
    ) -> list[ChunkMatch]:
        """The best `limit` chunks of the stores (and, given `file_ids`, of those files
        only) for the query `text` embedded as `vector`, best first."""
        if limit <= 0 or not store_ids or (file_ids is not None and not file_ids):
            return []
        if mode == "vector":
            near = await self.nearest(store_ids, file_ids, vector, limit)
            return [ChunkMatch(i, max(0.0, min(1.0, similarity))) for i, similarity in near]
        depth = max(MIN_DEPTH, limit * DEPTH_FACTOR)
        by_keyword = await self.keyword(store_ids, file_ids, text, depth)
        if mode == "keyword":
            return fuse([(1.0, by_keyword)])[:limit]
        by_vector = [i for i, _ in await self.nearest(store_ids, file_ids, vector, depth)]
        return fuse([(VECTOR_WEIGHT, by_vector), (KEYWORD_WEIGHT, by_keyword)])[:limit]


def fuse(rankings: Sequence[tuple[float, Sequence[int]]]) -> list[ChunkMatch]:
    """Weighted reciprocal-rank fusion of (weight, ranking) pairs: each chunk scores the
    sum of weight/(RRF_K + rank) over the rankings, divided by the best possible sum
    (first in every ranking), so a score is 0-1."""
    sums: dict[int, float] = {}
    for weight, ranking in rankings:
        for rank, chunk_id in enumerate(ranking, start=1):
            sums[chunk_id] = sums.get(chunk_id, 0.0) + weight / (RRF_K + rank)
    best = sum(weight for weight, _ in rankings) / (RRF_K + 1)
    ranked = sorted(sums.items(), key=lambda pair: (-pair[1], pair[0]))
    return [ChunkMatch(chunk_id, total / best) for chunk_id, total in ranked]
