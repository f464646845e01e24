from __future__ import annotations

from openscope.core.knowledge import (
    ChunkingStrategy,
    FileStatus,
    IngestError,
    StoredFile,
)
from openscope.core.state import Order
from openscope.store.knowledge import EmbedderMark, KnowledgeStore, NewVectorStore

EMBEDDER = EmbedderMark("fake", 8)
NOW = 1_800_000_000


def a_file(
    file_id: str, workspace: str = "w1", *, created_at: int = NOW, **kw: object
) -> StoredFile:
    return StoredFile(
        id=file_id,
        workspace=workspace,
        filename=f"{file_id}.txt",
        purpose=str(kw.get("purpose", "assistants")),
        bytes=10,
        created_at=created_at,
        expires_at=kw.get("expires_at"),  # type: ignore[arg-type]
    )


def a_store(store_id: str, workspace: str = "w1", *, days: int | None = None) -> NewVectorStore:
    return NewVectorStore(
        id=store_id,
        workspace=workspace,
        name=store_id,
        description=None,
        metadata={"team": "docs"},
        created_at=NOW,
        expires_after_days=days,
        embedder=EMBEDDER,
    )


async def test_files_belong_to_their_workspace(knowledge: KnowledgeStore) -> None:
    await knowledge.add_file(a_file("file-a"))
    await knowledge.add_file(a_file("file-b", "w2"))
    assert (await knowledge.get_file("w1", "file-a")) == a_file("file-a")
    assert await knowledge.get_file("w2", "file-a") is None
    assert await knowledge.delete_file("w2", "file-a") is None
    assert await knowledge.delete_file("w1", "file-a") == []
    assert await knowledge.get_file("w1", "file-a") is None


async def test_file_pages(knowledge: KnowledgeStore) -> None:
    for i in range(5):
        purpose = "batch" if i == 4 else "assistants"
        await knowledge.add_file(a_file(f"file-{i}", created_at=NOW + i, purpose=purpose))
    page, more = await knowledge.list_files(
        "w1", purpose=None, limit=2, order=Order.DESC, after=None
    )
    assert [f.id for f in page] == ["file-4", "file-3"] and more
    page, more = await knowledge.list_files(
        "w1", purpose="assistants", limit=10, order=Order.ASC, after="file-1"
    )
    assert [f.id for f in page] == ["file-2", "file-3"] and not more
    page, _ = await knowledge.list_files(
        "w1", purpose=None, limit=10, order=Order.ASC, after="file-unknown"
    )
    assert page == []
    assert (await knowledge.list_files("w2", purpose=None, limit=9, order=Order.ASC, after=None))[
        0
    ] == []


async def test_store_pages_after_and_before(knowledge: KnowledgeStore) -> None:
    for i in range(4):
        await knowledge.create_store(a_store(f"vs_{i}"), [], ChunkingStrategy(), NOW)
    page, more = await knowledge.list_stores(
        "w1", limit=2, order=Order.DESC, after="vs_3", before=None, now=NOW
    )
    assert [s.id for s in page] == ["vs_2", "vs_1"] and more
    page, more = await knowledge.list_stores(
        "w1", limit=2, order=Order.DESC, after=None, before="vs_0", now=NOW
    )
    assert [s.id for s in page] == ["vs_2", "vs_1"] and more
    page, _ = await knowledge.list_stores(
        "w2", limit=5, order=Order.ASC, after=None, before=None, now=NOW
    )
    assert page == []


async def test_store_counts_status_and_expiry(knowledge: KnowledgeStore) -> None:
    for name in ("file-a", "file-b"):
        await knowledge.add_file(a_file(name))
    created = await knowledge.create_store(
        a_store("vs_1", days=2), ["file-a", "file-b"], ChunkingStrategy(200, 50), NOW
    )
    assert created.status == "in_progress" and created.file_counts.in_progress == 2
    assert created.expires_at == NOW + 2 * 86_400
    claims = await knowledge.claim_files(NOW, 60, 10)
    assert {c.file_id for c in claims} == {"file-a", "file-b"}
    assert claims[0].chunking == ChunkingStrategy(200, 50) and claims[0].embedder == EMBEDDER
    first, second = claims
    assert await knowledge.replace_chunks(first, [("alpha", 1), ("beta", 1)]) is not None
    assert await knowledge.complete(first, 123)
    assert await knowledge.fail(second, IngestError.INVALID_FILE, "no text")
    found = await knowledge.get_store("w1", "vs_1", NOW)
    assert found is not None
    assert found.status == "completed" and found.usage_bytes == 123
    assert (found.file_counts.completed, found.file_counts.failed) == (1, 1)
    failed = await knowledge.get_store_file("w1", "vs_1", second.file_id)
    assert failed is not None and failed.last_error == (IngestError.INVALID_FILE, "no text")
    assert await knowledge.file_texts("w1", "vs_1", first.file_id) == ("alpha", "beta")
    assert await knowledge.get_store("w2", "vs_1", NOW) is None
    expired = await knowledge.get_store("w1", "vs_1", NOW + 2 * 86_400)
    assert expired is not None and expired.status == "expired"
    await knowledge.touch_stores(["vs_1"], NOW + 86_400)
    touched = await knowledge.get_store("w1", "vs_1", NOW + 2 * 86_400)
    assert touched is not None and touched.status == "completed"


async def test_a_lease_that_ran_out_is_claimed_again_and_the_old_claim_is_void(
    knowledge: KnowledgeStore,
) -> None:
    await knowledge.add_file(a_file("file-a"))
    await knowledge.create_store(a_store("vs_1"), ["file-a"], ChunkingStrategy(), NOW)
    (crashed,) = await knowledge.claim_files(NOW, 60, 10)
    assert await knowledge.claim_files(NOW + 30, 60, 10) == []  # still held
    (taken_over,) = await knowledge.claim_files(NOW + 61, 60, 10)
    assert taken_over.lease > crashed.lease
    assert await knowledge.replace_chunks(crashed, [("late", 1)]) is None
    assert not await knowledge.complete(crashed, 1)
    assert await knowledge.replace_chunks(taken_over, [("fresh", 1)]) is not None
    assert await knowledge.complete(taken_over, 1)
    assert await knowledge.file_texts("w1", "vs_1", "file-a") == ("fresh",)


async def test_batches_count_their_files_and_cancel_the_rest(knowledge: KnowledgeStore) -> None:
    for name in ("file-a", "file-b", "file-c"):
        await knowledge.add_file(a_file(name))
    await knowledge.create_store(a_store("vs_1"), [], ChunkingStrategy(), NOW)
    files = [("file-a", {"year": 2024}), ("file-b", {}), ("file-c", {})]
    attached = await knowledge.attach_files(
        "w1", "vs_1", files, ChunkingStrategy(), batch_id="vsfb_1", now=NOW
    )
    assert attached.files[0].attributes == {"year": 2024}
    (claim,) = await knowledge.claim_files(NOW, 60, 1)
    assert await knowledge.complete(claim, 5)
    batch = await knowledge.cancel_batch("w1", "vs_1", "vsfb_1")
    assert batch is not None and batch.status == FileStatus.CANCELLED
    assert (batch.file_counts.completed, batch.file_counts.cancelled) == (1, 2)
    assert await knowledge.claim_files(NOW, 60, 10) == []
    listed, _ = await knowledge.list_store_files(
        "w1",
        "vs_1",
        status=FileStatus.CANCELLED,
        batch_id="vsfb_1",
        limit=10,
        order=Order.ASC,
        after=None,
        before=None,
    )
    assert len(listed) == 2
    assert await knowledge.get_batch("w2", "vs_1", "vsfb_1") is None


async def test_deleting_a_file_takes_it_out_of_its_stores(knowledge: KnowledgeStore) -> None:
    await knowledge.add_file(a_file("file-a"))
    await knowledge.create_store(a_store("vs_1"), ["file-a"], ChunkingStrategy(), NOW)
    (claim,) = await knowledge.claim_files(NOW, 60, 1)
    replaced = await knowledge.replace_chunks(claim, [("one", 1), ("two", 1)])
    assert replaced is not None
    _, ids = replaced
    assert sorted(await knowledge.delete_file("w1", "file-a") or []) == sorted(ids)
    assert await knowledge.get_store_file("w1", "vs_1", "file-a") is None
    assert await knowledge.chunks_by_id(ids) == {}


async def test_expired_files(knowledge: KnowledgeStore) -> None:
    await knowledge.add_file(a_file("file-old", expires_at=NOW - 1))
    await knowledge.add_file(a_file("file-new", expires_at=NOW + 100))
    await knowledge.add_file(a_file("file-kept"))
    assert [f.id for f in await knowledge.expired_files(NOW, 10)] == ["file-old"]
