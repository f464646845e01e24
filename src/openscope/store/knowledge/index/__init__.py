"""The chunk index (vectors and words of every chunk) behind one class, on SQLite or
PostgreSQL; see `base` for how a search reads it."""

from openscope.store.knowledge.index.base import (
    SEARCH_MODES,
    ChunkIndex,
    ChunkMatch,
    IndexedChunk,
    IndexUnavailable,
    SearchMode,
)
from openscope.store.knowledge.index.postgres import PostgresChunkIndex
from openscope.store.knowledge.index.sqlite import SqliteChunkIndex

__all__ = [
    "SEARCH_MODES",
    "ChunkIndex",
    "ChunkMatch",
    "IndexUnavailable",
    "IndexedChunk",
    "PostgresChunkIndex",
    "SearchMode",
    "SqliteChunkIndex",
]
