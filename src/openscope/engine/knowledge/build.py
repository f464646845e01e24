"""Putting the knowledge service together beside an opened store: the knowledge tables
share the store's engine, uploads go to the blob store given (an S3-compatible bucket, say)
or else to a local blob directory, the chunk index sits beside the database (see
`chunk_index_beside`)."""

from __future__ import annotations

from pathlib import Path

from openscope.core.knowledge import Embedder
from openscope.engine.knowledge.limits import KnowledgeLimits
from openscope.engine.knowledge.service import KnowledgeService
from openscope.store import Store
from openscope.store.knowledge import (
    BlobStore,
    KnowledgeStore,
    LocalBlobStore,
    chunk_index_beside,
)

BLOB_DIR = "files"


def build_knowledge(
    store: Store,
    data_dir: Path,
    embedder: Embedder,
    limits: KnowledgeLimits,
    *,
    blob_dir: Path | None = None,
    blobs: BlobStore | None = None,
) -> KnowledgeService:
    """The service, its blob store and index not opened and its worker not started: `await
    start()` in the running loop (it raises BlobStoreUnavailable, e.g. a missing bucket, or
    IndexUnavailable, e.g. PostgreSQL without pgvector), and `aclose()` before closing the
    store (it closes `blobs` too). Uploads go to `blobs`, or else to the directory
    `blob_dir` (default: data_dir/files)."""
    if blobs is not None and blob_dir is not None:
        raise ValueError("give build_knowledge a blob store or a blob directory, not both")
    return KnowledgeService(
        KnowledgeStore(store.engine),
        blobs if blobs is not None else LocalBlobStore(blob_dir or data_dir / BLOB_DIR),
        chunk_index_beside(store.engine, data_dir),
        embedder,
        limits,
    )


async def open_knowledge(
    store: Store,
    data_dir: Path,
    embedder: Embedder,
    limits: KnowledgeLimits,
    *,
    blob_dir: Path | None = None,
    blobs: BlobStore | None = None,
) -> KnowledgeService:
    """`build_knowledge`, started."""
    service = build_knowledge(store, data_dir, embedder, limits, blob_dir=blob_dir, blobs=blobs)
    await service.start()
    return service
