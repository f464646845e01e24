"""Rows of the knowledge tables to core objects and back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import RowMapping

from openscope.core.knowledge import (
    Attributes,
    ChunkingStrategy,
    FileCounts,
    FileStatus,
    IngestError,
    StoredFile,
    VectorStore,
    VectorStoreFile,
)

DAY = 86_400


@dataclass(frozen=True, slots=True)
class EmbedderMark:
    """The embedding model a vector store's vectors came from."""

    model: str
    dimensions: int


@dataclass(frozen=True, slots=True)
class NewVectorStore:
    id: str
    workspace: str
    name: str | None
    description: str | None
    metadata: Mapping[str, str]
    created_at: int
    expires_after_days: int | None
    embedder: EmbedderMark


def file_row(file: StoredFile) -> dict[str, Any]:
    return {
        "id": file.id,
        "workspace": file.workspace,
        "filename": file.filename,
        "purpose": file.purpose,
        "bytes": file.bytes,
        "created_at": file.created_at,
        "expires_at": file.expires_at,
    }


def file_from_row(row: RowMapping) -> StoredFile:
    return StoredFile(
        id=row["id"],
        workspace=row["workspace"],
        filename=row["filename"],
        purpose=row["purpose"],
        bytes=row["bytes"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
    )


def store_row(store: NewVectorStore) -> dict[str, Any]:
    return {
        "id": store.id,
        "workspace": store.workspace,
        "name": store.name,
        "description": store.description,
        "metadata": dict(store.metadata),
        "created_at": store.created_at,
        "last_active_at": store.created_at,
        "expires_after_days": store.expires_after_days,
        "embedder_model": store.embedder.model,
        "embedder_dims": store.embedder.dimensions,
    }


def store_from_row(row: RowMapping, counts: FileCounts, usage_bytes: int, now: int) -> VectorStore:
    days = row["expires_after_days"]
    expires_at = expiry_of(row)
    if is_expired(row, now):
        status: Any = "expired"
    else:
        status = "in_progress" if counts.in_progress else "completed"
    return VectorStore(
        id=row["id"],
        workspace=row["workspace"],
        name=row["name"],
        created_at=row["created_at"],
        last_active_at=row["last_active_at"],
        status=status,
        usage_bytes=usage_bytes,
        file_counts=counts,
        metadata=dict(row["metadata"]),
        description=row["description"],
        expires_after_days=days,
        expires_at=expires_at,
    )


def expiry_of(row: RowMapping) -> int | None:
    """When the store expires: `expires_after_days` after its last use (None: never)."""
    days = row["expires_after_days"]
    return None if days is None else int(row["last_active_at"]) + days * DAY


def is_expired(row: RowMapping, now: int) -> bool:
    expires_at = expiry_of(row)
    return expires_at is not None and expires_at <= now


def counts_of(statuses: Mapping[str, int]) -> FileCounts:
    return FileCounts(
        in_progress=statuses.get(FileStatus.IN_PROGRESS, 0),
        completed=statuses.get(FileStatus.COMPLETED, 0),
        failed=statuses.get(FileStatus.FAILED, 0),
        cancelled=statuses.get(FileStatus.CANCELLED, 0),
    )


def store_file_from_row(row: RowMapping) -> VectorStoreFile:
    code = row["last_error_code"]
    return VectorStoreFile(
        id=row["file_id"],
        vector_store_id=row["store_id"],
        created_at=row["created_at"],
        status=FileStatus(row["status"]),
        usage_bytes=row["usage_bytes"],
        chunking=ChunkingStrategy(row["max_chunk_size_tokens"], row["chunk_overlap_tokens"]),
        attributes=attributes_from_json(row["attributes"]),
        last_error=None if code is None else (IngestError(code), row["last_error_message"] or ""),
    )


def attributes_from_json(data: Mapping[str, Any]) -> Attributes:
    # JSON keeps bools and numbers apart; ints come back as ints, which compare as floats
    return {key: value for key, value in data.items()}
