"""Putting the knowledge service together beside an opened store: the knowledge tables
share the store's engine, uploads go to a local blob directory, the chunk index sits beside
the database (see `open_chunk_index`)."""

from __future__ import annotations

from pathlib import Path

from openscope.core.knowledge import Embedder
from openscope.engine.knowledge.limits import KnowledgeLimits
from openscope.engine.knowledge.service import KnowledgeService
from openscope.store import Store
from openscope.store.knowledge import KnowledgeStore, LocalBlobStore, open_chunk_index

BLOB_DIR = "files"


async def open_knowledge(
    store: Store,
    data_dir: Path,
    embedder: Embedder,
    limits: KnowledgeLimits,
    *,
    blob_dir: Path | None = None,
) -> KnowledgeService:
    """The service, its index open (raises IndexUnavailable, e.g. PostgreSQL without
    pgvector) and its worker not started yet: call `start()` in the running loop, and
    `aclose()` before closing the store."""
    index = await open_chunk_index(store.engine, data_dir)
    return KnowledgeService(
        KnowledgeStore(store.engine),
        LocalBlobStore(blob_dir or data_dir / BLOB_DIR),
        index,
        embedder,
        limits,
    )
