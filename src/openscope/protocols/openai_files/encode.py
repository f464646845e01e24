"""Core files, vector stores and search hits -> the JSON objects the `openai` SDK reads
(`types/file_object.py`, `types/vector_store.py`, `types/vector_stores/*`), and errors in
OpenAI's shape."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from openscope.core.errors import ErrorKind, OpenScopeError, error_code
from openscope.core.knowledge import (
    ChunkingStrategy,
    FileBatch,
    FileCounts,
    ListPage,
    SearchHit,
    StoredFile,
    VectorStore,
    VectorStoreFile,
)
from openscope.protocols.statuses import HTTP_STATUS

# kind -> OpenAI's error `type` (a 429's type is its code, as Model Studio answers).
ERROR_TYPES: dict[ErrorKind, str] = {
    ErrorKind.INVALID_PARAMETER: "invalid_request_error",
    ErrorKind.AUTHENTICATION: "invalid_request_error",
    ErrorKind.PERMISSION: "invalid_request_error",
    ErrorKind.NOT_FOUND: "invalid_request_error",
    ErrorKind.MODEL_NOT_FOUND: "invalid_request_error",
    ErrorKind.REQUEST_TOO_LARGE: "invalid_request_error",
    ErrorKind.OVERLOADED: "service_unavailable_error",
    ErrorKind.INTERNAL: "internal_error",
}


def error_status(error: OpenScopeError) -> int:
    return HTTP_STATUS[error.kind]


def error_body(error: OpenScopeError, request_id: str) -> dict[str, Any]:
    """OpenAI's error object, which the SDK reads for its exception's message."""
    kind_type = (
        error_code(error) if error.kind is ErrorKind.RATE_LIMITED else ERROR_TYPES[error.kind]
    )
    return {
        "error": {
            "message": error.message,
            "type": kind_type,
            "param": error.param,
            "code": error_code(error),
        },
        "request_id": request_id,
    }


def file_body(file: StoredFile) -> dict[str, Any]:
    # Bytes are stored whole at upload, so a file is `processed` from the start; the
    # SDK's `wait_for_processing` returns at once.
    return {
        "id": file.id,
        "object": "file",
        "bytes": file.bytes,
        "created_at": file.created_at,
        "filename": file.filename,
        "purpose": file.purpose,
        "status": "processed",
        "expires_at": file.expires_at,
        "status_details": None,
    }


def deleted_body(object_: str, id_: str) -> dict[str, Any]:
    return {"id": id_, "object": object_, "deleted": True}


def counts_body(counts: FileCounts) -> dict[str, int]:
    return {
        "in_progress": counts.in_progress,
        "completed": counts.completed,
        "failed": counts.failed,
        "cancelled": counts.cancelled,
        "total": counts.total,
    }


def store_body(store: VectorStore) -> dict[str, Any]:
    expires_after = (
        {"anchor": "last_active_at", "days": store.expires_after_days}
        if store.expires_after_days is not None
        else None
    )
    return {
        "id": store.id,
        "object": "vector_store",
        "created_at": store.created_at,
        "name": store.name,
        "description": store.description,
        "status": store.status,
        "usage_bytes": store.usage_bytes,
        "file_counts": counts_body(store.file_counts),
        "last_active_at": store.last_active_at,
        "metadata": dict(store.metadata),
        "expires_after": expires_after,
        "expires_at": store.expires_at,
    }


def chunking_body(chunking: ChunkingStrategy) -> dict[str, Any]:
    # OpenAI answers `auto` with the static numbers it stands for.
    return {
        "type": "static",
        "static": {
            "max_chunk_size_tokens": chunking.max_chunk_size_tokens,
            "chunk_overlap_tokens": chunking.chunk_overlap_tokens,
        },
    }


def store_file_body(file: VectorStoreFile) -> dict[str, Any]:
    last_error = (
        {"code": file.last_error[0].value, "message": file.last_error[1]}
        if file.last_error is not None
        else None
    )
    return {
        "id": file.id,
        "object": "vector_store.file",
        "created_at": file.created_at,
        "status": file.status.value,
        "usage_bytes": file.usage_bytes,
        "vector_store_id": file.vector_store_id,
        "last_error": last_error,
        "attributes": dict(file.attributes),
        "chunking_strategy": chunking_body(file.chunking),
    }


def batch_body(batch: FileBatch) -> dict[str, Any]:
    return {
        "id": batch.id,
        "object": "vector_store.files_batch",
        "created_at": batch.created_at,
        "status": batch.status.value,
        "file_counts": counts_body(batch.file_counts),
        "vector_store_id": batch.vector_store_id,
    }


T = TypeVar("T")


def page_body(
    page: ListPage, kind: type[T], encode: Callable[[T], dict[str, Any]]
) -> dict[str, Any]:
    """A cursor page (`SyncCursorPage`): the SDK asks for the next one `after` the last id."""
    data = [encode(_checked(item, kind)) for item in page.data]
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": page.has_more,
    }


def _checked(item: object, kind: type[T]) -> T:
    if not isinstance(item, kind):
        raise TypeError(f"a page of {kind.__name__} held a {type(item).__name__}")
    return item


def content_body(chunks: Sequence[str]) -> dict[str, Any]:
    """A file's parsed text in a store, one entry per chunk, on one page."""
    return {
        "object": "vector_store.file_content.page",
        "data": [{"type": "text", "text": text} for text in chunks],
        "has_more": False,
        "next_page": None,
    }


def search_body(queries: Sequence[str], hits: Sequence[SearchHit]) -> dict[str, Any]:
    return {
        "object": "vector_store.search_results.page",
        "search_query": list(queries),
        "data": [
            {
                "file_id": hit.file_id,
                "filename": hit.filename,
                "score": hit.score,
                "attributes": dict(hit.attributes),
                "content": [{"type": "text", "text": hit.text}],
            }
            for hit in hits
        ],
        "has_more": False,
        "next_page": None,
    }
