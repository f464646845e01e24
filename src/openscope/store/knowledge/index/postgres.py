"""The chunk index on PostgreSQL: vectors in a pgvector column compared by cosine distance
(`<=>`, an exact scan of the stores searched), words in a `tsvector` with a GIN index ranked
by `ts_rank`. Its table lives beside the store's, through the store's engine; it has no
fixed dimension, since each vector store records its own embedder's.

pgvector must be installed on the server: `open` creates the extension when it may (a
superuser, or pgvector's trusted install), and otherwise says what is missing."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import text as sql
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from openscope.store.knowledge.index.base import ChunkIndex, IndexedChunk, IndexUnavailable
from openscope.store.knowledge.index.terms import query_terms, terms

TABLE = "knowledge_chunk_index"
SCHEMA = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} ("
    " id BIGINT PRIMARY KEY, store_id TEXT NOT NULL, file_id TEXT NOT NULL,"
    " embedding vector NOT NULL, terms tsvector NOT NULL)",
    f"CREATE INDEX IF NOT EXISTS {TABLE}_file ON {TABLE} (store_id, file_id)",
    f"CREATE INDEX IF NOT EXISTS {TABLE}_terms ON {TABLE} USING gin (terms)",
)
# Serializes the schema's creation by several replicas starting at once.
SCHEMA_LOCK_KEY = 0x6B6E6F776C656467  # "knowledg"

MISSING_PGVECTOR = (
    "the vector stores on PostgreSQL need the pgvector extension ('vector'), which this "
    "database does not have: install pgvector on the PostgreSQL server and run "
    "'CREATE EXTENSION vector' in the database as a superuser ({error})"
)


def _vector(values: Sequence[float]) -> str:
    return "[" + ",".join(repr(float(v)) for v in values) + "]"


class PostgresChunkIndex(ChunkIndex):
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def open(self) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(sql("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
            have = await conn.execute(sql("SELECT 1 FROM pg_extension WHERE extname = 'vector'"))
            if have.first() is None:
                try:
                    async with conn.begin_nested():
                        await conn.execute(sql("CREATE EXTENSION IF NOT EXISTS vector"))
                except DBAPIError as error:
                    reason = str(error.orig).splitlines()[0] if error.orig else str(error)
                    raise IndexUnavailable(MISSING_PGVECTOR.format(error=reason)) from None
            for statement in SCHEMA:
                await conn.execute(sql(statement))

    async def close(self) -> None:
        """Nothing of its own to close: the engine is the store's."""

    async def add(self, chunks: Sequence[IndexedChunk]) -> None:
        if not chunks:
            return
        # the words and the vectors' text are CPU work: off the event loop
        rows = await asyncio.to_thread(_rows, chunks)
        async with self._engine.begin() as conn:
            await conn.execute(
                sql(
                    f"INSERT INTO {TABLE} (id, store_id, file_id, embedding, terms)"
                    " VALUES (:id, :store_id, :file_id, CAST(:embedding AS vector),"
                    " to_tsvector('simple', :terms))"
                    " ON CONFLICT (id) DO UPDATE SET embedding = EXCLUDED.embedding,"
                    " terms = EXCLUDED.terms"
                ),
                rows,
            )

    async def remove(self, chunk_ids: Sequence[int]) -> None:
        if chunk_ids:
            async with self._engine.begin() as conn:
                await conn.execute(
                    sql(f"DELETE FROM {TABLE} WHERE id = ANY(:ids)"), {"ids": list(chunk_ids)}
                )

    async def remove_file(
        self, store_id: str, file_id: str, *, only: Sequence[int] | None = None
    ) -> None:
        if only is not None and not only:
            return
        query = f"DELETE FROM {TABLE} WHERE store_id = :s AND file_id = :f"
        params: dict[str, Any] = {"s": store_id, "f": file_id}
        if only is not None:
            query += " AND id = ANY(:ids)"
            params["ids"] = list(only)
        async with self._engine.begin() as conn:
            await conn.execute(sql(query), params)

    async def remove_store(self, store_id: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(sql(f"DELETE FROM {TABLE} WHERE store_id = :s"), {"s": store_id})

    async def nearest(
        self,
        store_ids: Sequence[str],
        file_ids: Collection[str] | None,
        vector: Sequence[float],
        limit: int,
    ) -> list[tuple[int, float]]:
        where, params = _scope(store_ids, file_ids)
        query = sql(
            f"SELECT id, embedding <=> CAST(:q AS vector) AS distance FROM {TABLE}"
            f" WHERE {where} ORDER BY distance, id LIMIT :limit"
        )
        async with self._engine.connect() as conn:
            result = await conn.execute(query, {**params, "q": _vector(vector), "limit": limit})
            return [(int(i), 1.0 - float(distance)) for i, distance in result]

    async def keyword(
        self,
        store_ids: Sequence[str],
        file_ids: Collection[str] | None,
        text: str,
        limit: int,
    ) -> list[int]:
        words = query_terms(text)
        if not words:
            return []
        where, params = _scope(store_ids, file_ids)
        # the words are letters and digits only (terms()), so " | " joins them safely
        query = sql(
            f"SELECT id FROM {TABLE}, to_tsquery('simple', :match) AS q"
            f" WHERE terms @@ q AND {where} ORDER BY ts_rank(terms, q) DESC, id LIMIT :limit"
        )
        async with self._engine.connect() as conn:
            result = await conn.execute(
                query, {**params, "match": " | ".join(words), "limit": limit}
            )
            return [int(i) for (i,) in result]


def _rows(chunks: Sequence[IndexedChunk]) -> list[dict[str, Any]]:
    return [
        {
            "id": c.id,
            "store_id": c.store_id,
            "file_id": c.file_id,
            "embedding": _vector(c.vector),
            "terms": " ".join(terms(c.text)),
        }
        for c in chunks
    ]


def _scope(
    store_ids: Sequence[str], file_ids: Collection[str] | None
) -> tuple[str, dict[str, Any]]:
    where = "store_id = ANY(:store_ids)"
    params: dict[str, Any] = {"store_ids": list(store_ids)}
    if file_ids is not None:
        where += " AND file_id = ANY(:file_ids)"
        params["file_ids"] = list(file_ids)
    return where, params
