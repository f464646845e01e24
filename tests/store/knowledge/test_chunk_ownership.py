"""A chunk id names one chunk of one file for good: ids are never reused, a worker whose
claim was lost drops only what is still its file's, a file attached again loses its old
chunks, and a file deleted while it is being attached takes the attachment with it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import delete, event

from openscope.core.errors import NotFound
from openscope.core.knowledge import ChunkingStrategy
from openscope.store import Store
from openscope.store.knowledge import ChunkIndex, IndexedChunk, KnowledgeStore
from openscope.store.tables import files
from tests.store.knowledge.test_knowledge_store import NOW, a_file, a_store


async def ingesting(knowledge: KnowledgeStore, workspace: str, store_id: str, file_id: str) -> Any:
    """The claim of a file just attached to a new store of the workspace."""
    await knowledge.add_file(a_file(file_id, workspace))
    await knowledge.create_store(a_store(store_id, workspace), [file_id], ChunkingStrategy(), NOW)
    (claim,) = [c for c in await knowledge.claim_files(NOW, 60, 10) if c.file_id == file_id]
    return claim


async def test_chunk_ids_of_a_deleted_file_are_never_given_again(
    knowledge: KnowledgeStore,
) -> None:
    x = await ingesting(knowledge, "w1", "vs_x", "file-x")
    replaced = await knowledge.replace_chunks(x, [("x one", 2), ("x two", 2)])
    assert replaced is not None
    _, x_ids = replaced
    assert await knowledge.delete_file("w1", "file-x") == x_ids  # deleted before `complete`
    y = await ingesting(knowledge, "w2", "vs_y", "file-y")
    replaced = await knowledge.replace_chunks(y, [("y one", 2), ("y two", 2)])
    assert replaced is not None
    _, y_ids = replaced
    assert not set(x_ids) & set(y_ids)
    assert min(y_ids) > max(x_ids)


async def test_a_lost_claim_drops_only_its_own_file_chunks(knowledge: KnowledgeStore) -> None:
    x = await ingesting(knowledge, "w1", "vs_x", "file-x")
    y = await ingesting(knowledge, "w2", "vs_y", "file-y")
    replaced = await knowledge.replace_chunks(y, [("y one", 2), ("y two", 2)])
    assert replaced is not None
    _, y_ids = replaced
    await knowledge.drop_chunks(x, y_ids)  # ids that are not file-x's in vs_x
    assert await knowledge.file_texts("w2", "vs_y", "file-y") == ("y one", "y two")
    replaced = await knowledge.replace_chunks(x, [("x one", 2)])
    assert replaced is not None
    await knowledge.drop_chunks(x, replaced[1])
    assert await knowledge.file_texts("w1", "vs_x", "file-x") == ()


async def test_chunks_are_inserted_a_batch_at_a_time(
    store: Store, knowledge: KnowledgeStore
) -> None:
    claim = await ingesting(knowledge, "w1", "vs_1", "file-a")
    texts = [(f"chunk number {i}", 3) for i in range(1_500)]
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO CHUNKS"):
            statements.append(statement)

    event.listen(store.engine.sync_engine, "before_cursor_execute", count)
    try:
        replaced = await knowledge.replace_chunks(claim, texts)
    finally:
        event.remove(store.engine.sync_engine, "before_cursor_execute", count)
    assert replaced is not None
    _, ids = replaced
    assert 1 <= len(statements) <= 10  # not 1,500 round trips under the write lock
    assert len(ids) == len(set(ids)) == 1_500
    by_id = await knowledge.chunks_by_id(ids)
    assert [by_id[i][2] for i in ids] == [text for text, _ in texts]  # ids in the rows' order
    assert await knowledge.file_texts("w1", "vs_1", "file-a") == tuple(t for t, _ in texts)


async def test_attaching_a_file_again_drops_its_old_chunks(knowledge: KnowledgeStore) -> None:
    claim = await ingesting(knowledge, "w1", "vs_1", "file-a")
    replaced = await knowledge.replace_chunks(claim, [("old one", 2), ("old two", 2)])
    assert replaced is not None and await knowledge.complete(claim, 10)
    _, old_ids = replaced
    again = await knowledge.attach_files(
        "w1", "vs_1", [("file-a", {"v": 2})], ChunkingStrategy(), batch_id=None, now=NOW
    )
    assert sorted(again.dropped_chunks) == sorted(old_ids)
    assert again.files[0].attributes == {"v": 2} and again.files[0].status == "in_progress"
    assert await knowledge.file_texts("w1", "vs_1", "file-a") == ()
    assert await knowledge.chunks_by_id(old_ids) == {}
    first = await knowledge.attach_files(
        "w1", "vs_1", [("file-a", {})], ChunkingStrategy(), batch_id=None, now=NOW
    )
    assert first.dropped_chunks == []


async def test_attaching_waits_for_the_deletion_of_its_file(
    store: Store, knowledge: KnowledgeStore
) -> None:
    if store.engine.dialect.name != "postgresql":
        pytest.skip("SQLite's writers never overlap (BEGIN IMMEDIATE)")
    await knowledge.add_file(a_file("file-a"))
    await knowledge.create_store(a_store("vs_1"), [], ChunkingStrategy(), NOW)
    async with store.engine.connect() as conn:
        deleting = await conn.begin()  # delete_file's transaction, not committed yet
        await conn.execute(delete(files).where(files.c.id == "file-a"))
        attaching = asyncio.create_task(
            knowledge.attach_files(
                "w1", "vs_1", [("file-a", {})], ChunkingStrategy(), batch_id=None, now=NOW
            )
        )
        await asyncio.sleep(0.5)
        assert not attaching.done()  # waits on the file's row
        await deleting.commit()
    with pytest.raises(NotFound):
        await attaching
    assert await knowledge.get_store_file("w1", "vs_1", "file-a") is None


async def test_a_file_leaves_the_index_of_its_store_only(index: ChunkIndex) -> None:
    vector = [1.0] + [0.0] * 7
    await index.add(
        [
            IndexedChunk(1, "vs_a", "file-1", "orbital drill", vector),
            IndexedChunk(2, "vs_a", "file-1", "orbital battery", vector),
            IndexedChunk(3, "vs_b", "file-1", "orbital drill", vector),
            IndexedChunk(4, "vs_a", "file-2", "orbital motor", vector),
        ]
    )

    async def left() -> set[int]:
        near = await index.nearest(["vs_a", "vs_b"], None, vector, 10)
        return {i for i, _ in near}

    await index.remove_file("vs_a", "file-1", only=[2, 3, 4])  # 3 and 4 are not its
    assert await left() == {1, 3, 4}
    await index.remove_file("vs_a", "file-1", only=[])
    assert await left() == {1, 3, 4}
    await index.remove_file("vs_a", "file-1")
    assert await left() == {3, 4}
