"""Each object's fields are exactly the `openai` SDK type's, and validate as it."""

from __future__ import annotations

from typing import Any

import pytest
from openai.types import FileDeleted, FileObject, VectorStore, VectorStoreDeleted
from openai.types.vector_store_search_response import VectorStoreSearchResponse
from openai.types.vector_stores import (
    VectorStoreFile,
    VectorStoreFileBatch,
    VectorStoreFileDeleted,
)
from pydantic import BaseModel

from openscope.core import knowledge as k
from openscope.core.errors import InvalidParameter
from openscope.protocols.openai_files import encode

STORE = k.VectorStore(
    id="vs_1",
    workspace="w",
    name="n",
    created_at=1,
    last_active_at=2,
    status="completed",
    usage_bytes=3,
    file_counts=k.FileCounts(completed=2, failed=1),
    metadata={"a": "b"},
    description="d",
    expires_after_days=4,
    expires_at=2 + 4 * 86400,
)
STORE_FILE = k.VectorStoreFile(
    id="file-1",
    vector_store_id="vs_1",
    created_at=1,
    status=k.FileStatus.FAILED,
    usage_bytes=0,
    chunking=k.ChunkingStrategy(300, 100),
    attributes={"year": 2025, "ok": True},
    last_error=(k.IngestError.INVALID_FILE, "broken"),
)
BATCH = k.FileBatch("vsfb_1", "vs_1", 1, k.FileStatus.IN_PROGRESS, k.FileCounts(in_progress=2))
HIT = k.SearchHit("file-1", "a.txt", 0.5, "text", {"k": "v"})


def fields(model: type[BaseModel]) -> set[str]:
    return {info.alias or name for name, info in model.model_fields.items()}


@pytest.mark.parametrize(
    "body, model, extra",
    [
        (
            encode.file_body(k.StoredFile("file-1", "w", "a.txt", "batch", 5, 1, 9)),
            FileObject,
            set(),
        ),
        (encode.deleted_body("file", "file-1"), FileDeleted, set()),
        (encode.store_body(STORE), VectorStore, {"description"}),
        (encode.deleted_body("vector_store.deleted", "vs_1"), VectorStoreDeleted, set()),
        (encode.store_file_body(STORE_FILE), VectorStoreFile, set()),
        (
            encode.deleted_body("vector_store.file.deleted", "file-1"),
            VectorStoreFileDeleted,
            set(),
        ),
        (encode.batch_body(BATCH), VectorStoreFileBatch, set()),
        (encode.search_body(["q"], [HIT])["data"][0], VectorStoreSearchResponse, set()),
    ],
)
def test_fields_are_the_sdks(body: dict[str, Any], model: type[BaseModel], extra: set[str]) -> None:
    assert set(body) == fields(model) | extra
    model.model_validate(body)  # types and literals as the SDK declares them


def test_values() -> None:
    store = encode.store_body(STORE)
    assert store["file_counts"] == {
        "in_progress": 0,
        "completed": 2,
        "failed": 1,
        "cancelled": 0,
        "total": 3,
    }
    assert store["expires_after"] == {"anchor": "last_active_at", "days": 4}
    file = encode.store_file_body(STORE_FILE)
    assert file["last_error"] == {"code": "invalid_file", "message": "broken"}
    assert file["chunking_strategy"] == {
        "type": "static",
        "static": {"max_chunk_size_tokens": 300, "chunk_overlap_tokens": 100},
    }
    assert file["attributes"] == {"year": 2025, "ok": True}


def test_a_page_holds_only_its_kind() -> None:
    page = k.ListPage((STORE,), has_more=True)
    body = encode.page_body(page, k.VectorStore, encode.store_body)
    assert (body["first_id"], body["last_id"], body["has_more"]) == ("vs_1", "vs_1", True)
    with pytest.raises(TypeError):
        encode.page_body(page, k.VectorStoreFile, encode.store_file_body)


def test_error_body_is_openais_shape() -> None:
    body = encode.error_body(InvalidParameter("Bad.", param="query"), "req-1")
    assert body == {
        "error": {
            "message": "Bad.",
            "type": "invalid_request_error",
            "param": "query",
            "code": "invalid_parameter_error",
        },
        "request_id": "req-1",
    }
