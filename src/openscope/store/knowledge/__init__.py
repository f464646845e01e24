"""Files and vector stores: their rows (`KnowledgeStore`), the uploaded bytes (`BlobStore`)
and the chunk index (`ChunkIndex`, on SQLite or PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from openscope.store.knowledge.blobs import BlobStore, LocalBlobStore
from openscope.store.knowledge.index import (
    SEARCH_MODES,
    ChunkIndex,
    ChunkMatch,
    IndexedChunk,
    IndexUnavailable,
    PostgresChunkIndex,
    SearchMode,
    SqliteChunkIndex,
)
from openscope.store.knowledge.knowledge_store import KnowledgeStore, SearchableStore
from openscope.store.knowledge.records import EmbedderMark, NewVectorStore
from openscope.store.knowledge.store_files import Claim

INDEX_FILE = "knowledge_index.sqlite3"


async def open_chunk_index(engine: AsyncEngine, data_dir: Path) -> ChunkIndex:
    """The index beside the store: pgvector in the store's PostgreSQL database, or an
    SQLite file of its own in `data_dir` when the store is SQLite. Raises IndexUnavailable
    (naming what is missing) when it cannot run."""
    index: ChunkIndex
    if engine.dialect.name == "postgresql":
        index = PostgresChunkIndex(engine)
    else:
        index = SqliteChunkIndex(data_dir / INDEX_FILE)
    await index.open()
    return index


__all__ = [
    "SEARCH_MODES",
    "BlobStore",
    "ChunkIndex",
    "ChunkMatch",
    "Claim",
    "EmbedderMark",
    "IndexUnavailable",
    "IndexedChunk",
    "KnowledgeStore",
    "LocalBlobStore",
    "NewVectorStore",
    "PostgresChunkIndex",
    "SearchMode",
    "SearchableStore",
    "SqliteChunkIndex",
    "open_chunk_index",
]
