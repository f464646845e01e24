"""The Files API driven by the official `openai` SDK."""

from __future__ import annotations

import time

import openai
import pytest

from tests.protocols.openai_files.app import KEY_B, Harness, harness


@pytest.fixture
def h() -> Harness:
    return harness()


def test_upload_retrieve_download_delete(h: Harness) -> None:
    client = h.sdk()
    created = client.files.create(file=("notes.txt", b"hello files"), purpose="assistants")
    assert created.id.startswith("file-")
    assert created.object == "file"
    assert (created.filename, created.purpose, created.bytes) == ("notes.txt", "assistants", 11)
    assert created.status == "processed"
    assert created.expires_at is None
    assert created.status_details is None
    assert abs(created.created_at - time.time()) < 5

    assert client.files.retrieve(created.id) == created
    content = client.files.content(created.id)
    assert content.content == b"hello files"
    assert content.response.headers["content-type"].startswith("text/plain")

    deleted = client.files.delete(created.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (created.id, "file", True)
    with pytest.raises(openai.NotFoundError) as missing:
        client.files.retrieve(created.id)
    assert created.id in missing.value.message


def test_expires_after_reaches_the_service(h: Harness) -> None:
    created = h.sdk().files.create(
        file=("a.jsonl", b"{}"),
        purpose="batch",
        expires_after={"anchor": "created_at", "seconds": 3600},
    )
    assert created.expires_at == created.created_at + 3600


def test_binary_content_comes_back_byte_for_byte(h: Harness) -> None:
    blob = bytes(range(256)) * 10
    client = h.sdk()
    created = client.files.create(file=("blob.bin", blob), purpose="user_data")
    response = client.files.content(created.id)
    assert response.content == blob
    assert response.response.headers["content-type"] == "application/octet-stream"


def test_list_pages_orders_and_filters_by_purpose(h: Harness) -> None:
    client = h.sdk()
    ids = [
        client.files.create(file=(f"f{i}.txt", b"x"), purpose="batch" if i % 2 else "assistants").id
        for i in range(5)
    ]
    newest_first = [f.id for f in client.files.list()]
    assert newest_first == ids[::-1]
    page = client.files.list(limit=2, order="asc")
    assert [f.id for f in page.data] == ids[:2]
    assert page.has_more is True
    assert [f.id for f in client.files.list(limit=2, order="asc")] == ids  # auto-paging
    assert [f.id for f in client.files.list(purpose="batch", order="asc")] == [ids[1], ids[3]]
    raw = client.files.with_raw_response.list(limit=2, order="asc").http_response.json()
    assert (raw["object"], raw["first_id"], raw["last_id"]) == ("list", ids[0], ids[1])


def test_workspaces_do_not_see_each_other(h: Harness) -> None:
    mine = h.sdk().files.create(file=("a.txt", b"mine"), purpose="assistants")
    other = h.sdk(KEY_B)
    assert list(other.files.list()) == []
    with pytest.raises(openai.NotFoundError):
        other.files.retrieve(mine.id)
    with pytest.raises(openai.NotFoundError):
        other.files.content(mine.id)
    with pytest.raises(openai.NotFoundError):
        other.files.delete(mine.id)


def test_the_v1_prefix_answers_too(h: Harness) -> None:
    created = h.sdk(prefix="/v1").files.create(file=("a.txt", b"x"), purpose="assistants")
    assert h.sdk().files.retrieve(created.id).id == created.id


def test_an_uploaded_page_is_never_shown_as_a_page_of_this_origin(h: Harness) -> None:
    client = h.sdk()
    created = client.files.create(
        file=("page.html", b"<script>alert(1)</script>"), purpose="user_data"
    )
    headers = client.files.content(created.id).response.headers
    assert headers["content-type"].startswith("text/html")  # its own type, as uploaded
    assert headers["content-disposition"] == "attachment"
    assert headers["content-security-policy"] == "sandbox"
    assert headers["x-content-type-options"] == "nosniff"
