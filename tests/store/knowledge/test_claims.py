"""The ingestion worker's claims: a file whose ingestion keeps killing the server is failed
after a few claims instead of crash-looping, while a worker that stops and gives its file
back costs that file no attempt. And a store used often is not rewritten on every use."""

from __future__ import annotations

from openscope.core.knowledge import ChunkingStrategy, FileStatus, IngestError
from openscope.store.knowledge import KnowledgeStore
from tests.store.knowledge.test_knowledge_store import NOW, a_file, a_store


async def attached(knowledge: KnowledgeStore) -> None:
    await knowledge.add_file(a_file("file-a"))
    await knowledge.create_store(a_store("vs_1"), ["file-a"], ChunkingStrategy(), NOW)


async def test_a_file_whose_worker_dies_each_time_fails_after_the_last_attempt(
    knowledge: KnowledgeStore,
) -> None:
    await attached(knowledge)
    now = NOW
    for _ in range(3):  # claimed, and the server died on it before the lease ran out
        assert len(await knowledge.claim_files(now, 60, 10, max_attempts=3)) == 1
        now += 61
    assert await knowledge.claim_files(now, 60, 10, max_attempts=3) == []
    failed = await knowledge.get_store_file("w1", "vs_1", "file-a")
    assert failed is not None and failed.status == FileStatus.FAILED
    assert failed.last_error is not None
    code, message = failed.last_error
    assert code == IngestError.SERVER_ERROR and "3 times" in message
    # attached again, it has its attempts again
    await knowledge.attach_files(
        "w1", "vs_1", [("file-a", {})], ChunkingStrategy(), batch_id=None, now=now
    )
    assert len(await knowledge.claim_files(now, 60, 10, max_attempts=3)) == 1


async def test_a_file_given_back_by_a_stopping_worker_costs_no_attempt(
    knowledge: KnowledgeStore,
) -> None:
    await attached(knowledge)
    for _ in range(5):
        (claim,) = await knowledge.claim_files(NOW, 60, 10, max_attempts=2)
        assert await knowledge.release(claim)
    (claim,) = await knowledge.claim_files(NOW, 60, 10, max_attempts=2)
    assert await knowledge.replace_chunks(claim, [("text", 1)]) is not None
    assert await knowledge.complete(claim, 4)


async def test_a_store_used_again_within_a_minute_is_not_written(
    knowledge: KnowledgeStore,
) -> None:
    await knowledge.create_store(a_store("vs_1"), [], ChunkingStrategy(), NOW)
    (found,) = await knowledge.searchable("w1", ["vs_1"], NOW + 59)
    assert found.last_active_at == NOW and not found.touch_due(NOW + 59)
    assert found.touch_due(NOW + 60)
    await knowledge.touch_stores(["vs_1"], NOW + 59)
    (found,) = await knowledge.searchable("w1", ["vs_1"], NOW + 59)
    assert found.last_active_at == NOW
    await knowledge.touch_stores(["vs_1"], NOW + 60)
    (found,) = await knowledge.searchable("w1", ["vs_1"], NOW + 60)
    assert found.last_active_at == NOW + 60
