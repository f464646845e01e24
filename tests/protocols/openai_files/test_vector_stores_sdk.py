"""The Vector Stores API driven by the official `openai` SDK: stores, their files, file
batches, the poll helpers (which must sleep what `openai-poll-after-ms` says) and search."""

from __future__ import annotations

import openai
import pytest

from tests.protocols.openai_files.app import KEY_B, Harness, harness

TEXT = (
    "The Bailian X1 phone has a 6.8 inch screen and a 5000 mAh battery. "
    "It ships in black and silver. Orders open in March."
)
STATIC = {"type": "static", "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 50}}


@pytest.fixture
def h() -> Harness:
    return harness()


def upload(client: openai.OpenAI, text: str = TEXT, name: str = "x1.txt") -> str:
    return client.files.create(file=(name, text.encode()), purpose="assistants").id


def sleeps_of(resource: object) -> list[float]:
    """Record the poll helpers' sleeps on `resource` instead of sleeping."""
    slept: list[float] = []
    resource._sleep = slept.append  # type: ignore[attr-defined]
    return slept


def test_store_create_retrieve_update_list_delete(h: Harness) -> None:
    client = h.sdk()
    store = client.vector_stores.create(
        name="manuals",
        description="phone manuals",
        metadata={"team": "devices"},
        expires_after={"anchor": "last_active_at", "days": 7},
    )
    assert store.id.startswith("vs_")
    assert store.object == "vector_store"
    assert (store.name, store.metadata, store.status) == (
        "manuals",
        {"team": "devices"},
        "completed",
    )
    assert store.expires_after is not None and store.expires_after.days == 7
    assert store.expires_at == store.last_active_at + 7 * 86400
    assert store.file_counts.total == 0 and store.usage_bytes == 0
    assert store.model_extra == {"description": "phone manuals"}

    assert client.vector_stores.retrieve(store.id) == store
    renamed = client.vector_stores.update(store.id, name="guides", expires_after=None)
    assert renamed.name == "guides"
    assert renamed.metadata == {"team": "devices"}  # not sent: unchanged
    assert renamed.expires_after is None and renamed.expires_at is None
    cleared = client.vector_stores.update(store.id, metadata=None)
    assert (cleared.name, cleared.metadata) == ("guides", {})

    other = client.vector_stores.create(name="other")
    assert [s.id for s in client.vector_stores.list()] == [other.id, store.id]
    page = client.vector_stores.list(limit=1, order="asc")
    assert [s.id for s in page.data] == [store.id] and page.has_more
    assert [s.id for s in client.vector_stores.list(limit=1, order="asc")] == [store.id, other.id]
    assert [s.id for s in client.vector_stores.list(before=other.id, order="asc")] == [store.id]

    deleted = client.vector_stores.delete(store.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (store.id, "vector_store.deleted", True)
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.retrieve(store.id)


def test_a_store_created_with_files_ingests_them(h: Harness) -> None:
    client = h.sdk()
    file_id = upload(client)
    store = client.vector_stores.create(name="s", file_ids=[file_id], chunking_strategy=STATIC)
    assert store.status == "in_progress"
    assert store.file_counts.in_progress == 1
    attached = client.vector_stores.files.poll(file_id, vector_store_id=store.id)
    assert attached.status == "completed"
    assert attached.chunking_strategy is not None
    assert attached.chunking_strategy.type == "static"
    assert attached.chunking_strategy.static.max_chunk_size_tokens == 100  # type: ignore[union-attr]
    done = client.vector_stores.retrieve(store.id)
    assert done.status == "completed" and done.file_counts.completed == 1
    assert done.usage_bytes == len(TEXT.encode())


def test_store_files_create_retrieve_update_list_content_delete(h: Harness) -> None:
    client = h.sdk()
    store = client.vector_stores.create(name="s")
    file_id = upload(client)
    attached = client.vector_stores.files.create(
        vector_store_id=store.id, file_id=file_id, attributes={"year": 2025, "lang": "en"}
    )
    assert attached.object == "vector_store.file"
    assert (attached.id, attached.vector_store_id) == (file_id, store.id)
    assert attached.status == "in_progress"
    assert attached.attributes == {"year": 2025, "lang": "en"}
    assert attached.last_error is None
    assert attached.chunking_strategy is not None and attached.chunking_strategy.type == "static"
    static = attached.chunking_strategy.static  # type: ignore[union-attr]
    assert (static.max_chunk_size_tokens, static.chunk_overlap_tokens) == (800, 400)  # auto

    raw = client.vector_stores.files.with_raw_response.retrieve(file_id, vector_store_id=store.id)
    assert raw.headers["openai-poll-after-ms"] == "500"
    done = raw.parse()
    assert done.status == "in_progress"  # the first look; the fake finishes on the next
    done = client.vector_stores.files.retrieve(file_id, vector_store_id=store.id)
    assert done.status == "completed"
    raw = client.vector_stores.files.with_raw_response.retrieve(file_id, vector_store_id=store.id)
    assert "openai-poll-after-ms" not in raw.headers

    updated = client.vector_stores.files.update(
        file_id, vector_store_id=store.id, attributes={"year": 2026}
    )
    assert updated.attributes == {"year": 2026}

    assert [f.id for f in client.vector_stores.files.list(vector_store_id=store.id)] == [file_id]
    assert list(client.vector_stores.files.list(vector_store_id=store.id, filter="failed")) == []
    content = client.vector_stores.files.content(file_id, vector_store_id=store.id)
    assert [(c.type, c.text) for c in content] == [("text", " ".join(TEXT.split()))]

    removed = client.vector_stores.files.delete(file_id, vector_store_id=store.id)
    assert (removed.id, removed.object, removed.deleted) == (
        file_id,
        "vector_store.file.deleted",
        True,
    )
    assert list(client.vector_stores.files.list(vector_store_id=store.id)) == []
    assert client.files.retrieve(file_id).id == file_id  # the file itself stays


def test_a_file_that_cannot_be_read_fails_with_its_reason(h: Harness) -> None:
    client = h.sdk()
    store = client.vector_stores.create(name="s")
    file_id = client.files.create(file=("x.bin", b"\xff\xfe\x00"), purpose="assistants").id
    sleeps_of(client.vector_stores.files)
    failed = client.vector_stores.files.create_and_poll(file_id, vector_store_id=store.id)
    assert failed.status == "failed"
    assert failed.last_error is not None
    assert failed.last_error.code == "unsupported_file"
    assert [f.id for f in client.vector_stores.files.list(store.id, filter="failed")] == [file_id]


def test_upload_and_poll_sleeps_what_the_server_says(h: Harness) -> None:
    client = h.sdk()
    store = client.vector_stores.create(name="s")
    slept = sleeps_of(client.vector_stores.files)
    done = client.vector_stores.files.upload_and_poll(
        vector_store_id=store.id, file=("x1.txt", TEXT.encode())
    )
    assert done.status == "completed"
    assert slept == [0.5]  # one poll found it in progress, and waited the header's 500 ms


def test_the_poll_wait_is_the_routers_setting() -> None:
    h = harness(poll_after_ms=20)
    client = h.sdk()
    store = client.vector_stores.create(name="s")
    slept = sleeps_of(client.vector_stores.files)
    client.vector_stores.files.upload_and_poll(vector_store_id=store.id, file=("a.txt", b"a b"))
    assert slept == [0.02]


def test_file_batches_create_retrieve_list_files_cancel(h: Harness) -> None:
    client = h.sdk()
    store = client.vector_stores.create(name="s")
    ids = [upload(client, f"document number {i}", f"d{i}.txt") for i in range(3)]
    created = client.vector_stores.file_batches.with_raw_response.create(
        vector_store_id=store.id, file_ids=ids, attributes={"kind": "doc"}
    )
    assert created.headers["openai-poll-after-ms"] == "500"
    batch = created.parse()
    assert batch.id.startswith("vsfb_")
    assert batch.object == "vector_store.files_batch"
    assert batch.vector_store_id == store.id
    assert batch.status == "in_progress"
    assert (batch.file_counts.in_progress, batch.file_counts.total) == (3, 3)
    raw = client.vector_stores.file_batches.with_raw_response.retrieve(
        batch.id, vector_store_id=store.id
    )
    assert raw.headers["openai-poll-after-ms"] == "500"
    assert raw.parse().status == "in_progress"  # the first look

    # listing a batch's files looks it up too: the second look finds them done
    listed = client.vector_stores.file_batches.list_files(batch.id, vector_store_id=store.id)
    assert sorted(f.id for f in listed) == sorted(ids)
    assert all(f.attributes == {"kind": "doc"} for f in listed)
    assert all(f.status == "completed" for f in listed)
    raw = client.vector_stores.file_batches.with_raw_response.retrieve(
        batch.id, vector_store_id=store.id
    )
    assert "openai-poll-after-ms" not in raw.headers
    done = raw.parse()
    assert done.status == "completed" and done.file_counts.completed == 3

    other = client.vector_stores.file_batches.create(
        vector_store_id=store.id,
        files=[{"file_id": upload(client, "late", "late.txt"), "attributes": {"n": 1}}],
    )
    cancelled = client.vector_stores.file_batches.cancel(other.id, vector_store_id=store.id)
    assert cancelled.status == "cancelled" and cancelled.file_counts.cancelled == 1
    in_batch = client.vector_stores.file_batches.list_files(
        other.id, vector_store_id=store.id, filter="cancelled"
    )
    assert [f.attributes for f in in_batch] == [{"n": 1}]
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.file_batches.list_files("vsfb_missing", vector_store_id=store.id)


def test_batch_upload_and_poll_sleeps_what_the_server_says(h: Harness) -> None:
    client = h.sdk()
    store = client.vector_stores.create(name="s")
    slept = sleeps_of(client.vector_stores.file_batches)
    batch = client.vector_stores.file_batches.upload_and_poll(
        store.id, files=[("a.txt", b"alpha text"), ("b.txt", b"beta text")]
    )
    assert batch.status == "completed"
    assert (batch.file_counts.completed, batch.file_counts.total) == (2, 2)
    assert slept == [0.5]


def test_search_with_filters_and_ranking(h: Harness) -> None:
    client = h.sdk()
    store = client.vector_stores.create(name="s")
    texts = {
        "x1.txt": ("The X1 phone battery holds 5000 mAh.", {"model": "x1", "year": 2025}),
        "x2.txt": ("The X2 phone battery holds 6000 mAh.", {"model": "x2", "year": 2026}),
        "tv.txt": ("A television with no battery at all.", {"model": "tv", "year": 2024}),
    }
    for name, (text, attributes) in texts.items():
        client.vector_stores.files.create_and_poll(
            upload(client, text, name), vector_store_id=store.id, attributes=attributes
        )

    found = client.vector_stores.search(store.id, query="phone battery")
    raw = client.vector_stores.with_raw_response.search(store.id, query="phone battery")
    body = raw.http_response.json()
    assert body["object"] == "vector_store.search_results.page"
    assert body["search_query"] == ["phone battery"]
    assert (body["has_more"], body["next_page"]) == (False, None)
    hits = list(found)
    assert {hit.filename for hit in hits} == {"x1.txt", "x2.txt", "tv.txt"}
    assert hits[0].score == 1.0 and hits[-1].filename == "tv.txt"
    assert hits[0].content[0].type == "text"

    newer = client.vector_stores.search(
        store.id,
        query=["battery"],
        filters={"type": "gte", "key": "year", "value": 2025},
    )
    assert sorted(hit.filename for hit in newer) == ["x1.txt", "x2.txt"]
    either = client.vector_stores.search(
        store.id,
        query="battery",
        filters={
            "type": "or",
            "filters": [
                {"type": "eq", "key": "model", "value": "tv"},
                {"type": "in", "key": "model", "value": ["x2"]},
            ],
        },
    )
    assert sorted(hit.filename for hit in either) == ["tv.txt", "x2.txt"]
    assert next(iter(either)).attributes is not None

    one = client.vector_stores.search(store.id, query="phone battery", max_num_results=1)
    assert len(list(one)) == 1
    strong = client.vector_stores.search(
        store.id,
        query="phone battery",
        ranking_options={"ranker": "auto", "score_threshold": 0.9},
    )
    assert sorted(hit.filename for hit in strong) == ["x1.txt", "x2.txt"]


def test_stores_of_another_workspace_are_not_found(h: Harness) -> None:
    client = h.sdk()
    store = client.vector_stores.create(name="mine")
    file_id = upload(client)
    client.vector_stores.files.create(vector_store_id=store.id, file_id=file_id)
    other = h.sdk(KEY_B)
    assert list(other.vector_stores.list()) == []
    with pytest.raises(openai.NotFoundError):
        other.vector_stores.retrieve(store.id)
    with pytest.raises(openai.NotFoundError):
        other.vector_stores.search(store.id, query="phone")
    with pytest.raises(openai.NotFoundError):
        other.vector_stores.files.retrieve(file_id, vector_store_id=store.id)
    their_store = other.vector_stores.create(name="theirs")
    with pytest.raises(openai.NotFoundError):
        other.vector_stores.files.create(vector_store_id=their_store.id, file_id=file_id)
