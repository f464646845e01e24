"""The chunk index on SQLite: vectors as float32 BLOBs compared with sqlite-vec's
`vec_distance_cosine` (an exact scan of the stores searched), words in a contentless FTS5
table ranked by BM25. It lives in a database file of its own, opened with `sqlean` (the
stdlib sqlite3 of our Python cannot load extensions), and every call runs on one thread of
its own: SQLite work never blocks the event loop, and one connection is never shared."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import sqlean  # type: ignore[import-untyped]
import sqlite_vec  # type: ignore[import-untyped]

from openscope.store.knowledge.index.base import ChunkIndex, IndexedChunk, IndexUnavailable
from openscope.store.knowledge.index.terms import query_terms, terms

T = TypeVar("T")

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS chunk_vectors ("
    " id INTEGER PRIMARY KEY, store_id TEXT NOT NULL, file_id TEXT NOT NULL,"
    " embedding BLOB NOT NULL)",
    "CREATE INDEX IF NOT EXISTS chunk_vectors_file ON chunk_vectors (store_id, file_id)",
    # contentless: the chunk texts are in the store; only the words are kept here
    "CREATE VIRTUAL TABLE IF NOT EXISTS chunk_terms USING fts5("
    " terms, content='', contentless_delete=1, tokenize='unicode61 remove_diacritics 2')",
)


class SqliteChunkIndex(ChunkIndex):
    def __init__(self, path: Path) -> None:
        self._path = path
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chunk-index")
        self._conn: Any = None

    async def _run(self, work: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, work, *args)

    async def open(self) -> None:
        await self._run(self._open)

    def _open(self) -> None:
        if self._conn is not None:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlean.connect(str(self._path), isolation_level=None)
        try:
            conn.enable_load_extension(True)
            sqlite_vec.load(conn)
            conn.enable_load_extension(False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA busy_timeout=30000")
            for statement in SCHEMA:
                conn.execute(statement)
        except Exception as error:
            conn.close()
            raise IndexUnavailable(f"cannot open the chunk index {self._path}: {error}") from error
        self._conn = conn

    async def close(self) -> None:
        await self._run(self._close)
        self._thread.shutdown(wait=True)

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def add(self, chunks: Sequence[IndexedChunk]) -> None:
        if chunks:
            await self._run(self._add, list(chunks))

    def _add(self, chunks: list[IndexedChunk]) -> None:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            ids = [(chunk.id,) for chunk in chunks]
            conn.executemany("DELETE FROM chunk_terms WHERE rowid = ?", ids)
            conn.executemany(
                "INSERT OR REPLACE INTO chunk_vectors (id, store_id, file_id, embedding)"
                " VALUES (?, ?, ?, ?)",
                [
                    (c.id, c.store_id, c.file_id, sqlite_vec.serialize_float32(list(c.vector)))
                    for c in chunks
                ],
            )
            conn.executemany(
                "INSERT INTO chunk_terms (rowid, terms) VALUES (?, ?)",
                [(c.id, " ".join(terms(c.text))) for c in chunks],
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    async def remove(self, chunk_ids: Sequence[int]) -> None:
        if chunk_ids:
            await self._run(self._remove, [(i,) for i in chunk_ids])

    def _remove(self, ids: list[tuple[int]]) -> None:
        if not ids:
            return
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany("DELETE FROM chunk_vectors WHERE id = ?", ids)
            conn.executemany("DELETE FROM chunk_terms WHERE rowid = ?", ids)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    async def remove_file(
        self, store_id: str, file_id: str, *, only: Sequence[int] | None = None
    ) -> None:
        if only is None or only:
            await self._run(self._remove_file, store_id, file_id, only)

    def _remove_file(self, store_id: str, file_id: str, only: Sequence[int] | None) -> None:
        ids = self._conn.execute(
            "SELECT id FROM chunk_vectors WHERE store_id = ? AND file_id = ?", (store_id, file_id)
        ).fetchall()
        wanted = None if only is None else set(only)
        self._remove([(i,) for (i,) in ids if wanted is None or i in wanted])

    async def remove_store(self, store_id: str) -> None:
        await self._run(self._remove_store, store_id)

    def _remove_store(self, store_id: str) -> None:
        ids = self._conn.execute(
            "SELECT id FROM chunk_vectors WHERE store_id = ?", (store_id,)
        ).fetchall()
        self._remove([(i,) for (i,) in ids])

    async def nearest(
        self,
        store_ids: Sequence[str],
        file_ids: Collection[str] | None,
        vector: Sequence[float],
        limit: int,
    ) -> list[tuple[int, float]]:
        where, params = _scope(store_ids, file_ids)
        query = (
            "SELECT id, vec_distance_cosine(embedding, ?) AS distance FROM chunk_vectors"
            f" WHERE {where} ORDER BY distance, id LIMIT ?"
        )
        blob = sqlite_vec.serialize_float32(list(vector))
        rows = await self._run(self._fetch, query, [blob, *params, limit])
        return [(int(i), 1.0 - float(distance)) for i, distance in rows]

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
        match = " OR ".join(f'"{word}"' for word in words)
        where, params = _scope(store_ids, file_ids, table="v")
        query = (
            "SELECT t.rowid FROM chunk_terms t JOIN chunk_vectors v ON v.id = t.rowid"
            f" WHERE chunk_terms MATCH ? AND {where} ORDER BY bm25(chunk_terms), t.rowid LIMIT ?"
        )
        rows = await self._run(self._fetch, query, [match, *params, limit])
        return [int(i) for (i,) in rows]

    def _fetch(self, query: str, params: list[Any]) -> list[tuple[Any, ...]]:
        return list(self._conn.execute(query, params).fetchall())


def _scope(
    store_ids: Sequence[str], file_ids: Collection[str] | None, table: str = "chunk_vectors"
) -> tuple[str, list[Any]]:
    where = f"{table}.store_id IN ({', '.join('?' * len(store_ids))})"
    params: list[Any] = list(store_ids)
    if file_ids is not None:
        where += f" AND {table}.file_id IN ({', '.join('?' * len(file_ids))})"
        params += list(file_ids)
    return where, params
