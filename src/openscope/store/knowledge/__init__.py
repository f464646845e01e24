"""Files and vector stores: their rows (`KnowledgeStore`), the uploaded bytes (`BlobStore`:
a local directory or an S3-compatible bucket) and the chunk index (`ChunkIndex`, on SQLite
or PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from openscope.store.knowledge.blobs import BlobStore, BlobStoreUnavailable, LocalBlobStore
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
from openscope.store.knowledge.knowledge_store import Attached, KnowledgeStore, SearchableStore
from openscope.store.knowledge.records import EmbedderMark, NewVectorStore
from openscope.store.knowledge.s3_blobs import S3BlobStore, S3Credentials, S3Location
from openscope.store.knowledge.store_files import Claim

INDEX_FILE = "knowledge_index.sqlite3"


def chunk_index_beside(engine: AsyncEngine, data_dir: Path) -> ChunkIndex:
    """The index beside the store, not opened yet: pgvector in the store's PostgreSQL
    database, or an SQLite file of its own in `data_dir` when the store is SQLite."""
    if engine.dialect.name == "postgresql":
        return PostgresChunkIndex(engine)
    return SqliteChunkIndex(data_dir / INDEX_FILE)


async def open_chunk_index(engine: AsyncEngine, data_dir: Path) -> ChunkIndex:
    """`chunk_index_beside`, opened. Raises IndexUnavailable (naming what is missing) when
    it cannot run."""
    index = chunk_index_beside(engine, data_dir)
    await index.open()
    return index


__all__ = [
    "SEARCH_MODES",
    "Attached",
    "BlobStore",
    "BlobStoreUnavailable",
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
    "S3BlobStore",
    "S3Credentials",
    "S3Location",
    "SearchMode",
    "SearchableStore",
    "SqliteChunkIndex",
    "chunk_index_beside",
    "open_chunk_index",
]
