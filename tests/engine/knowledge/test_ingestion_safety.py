"""The ingestion worker against what could take a server down or mix workspaces up: files
past the text and chunk bounds fail with the reason, long extraction and chunking keep the
lease, a claim lost after its chunks were written drops only its own, a file attached again
leaves no stale chunk in the table or the index, and searches do not write every time."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import pytest

from openscope.core.knowledge import ChunkingStrategy, FileStatus, IngestError
from openscope.core.state import Order
from openscope.engine.knowledge import KnowledgeService, ingest
from openscope.store.knowledge import ChunkIndex, IndexedChunk, KnowledgeStore, open_chunk_index
from tests.engine.knowledge.conftest import ALICE, BOB, Setup
from tests.engine.knowledge.fake_embedder import FakeEmbedder
from tests.engine.knowledge.test_service import DRILL, TRAVEL, query, ready_store, upload

WORDS = " ".join(f"word{i}" for i in range(3_000)).encode()


async def failure_of(service: KnowledgeService, name: str, content: bytes) -> tuple[Any, str]:
    store = await ready_store(service, [(name, content, {})])
    (file,) = (
        await service.list_store_files(
            ALICE,
            store.id,
            status=FileStatus.FAILED,
            batch_id=None,
            limit=10,
            order=Order.ASC,
            after=None,
            before=None,
        )
    ).data
    assert file.last_error is not None  # type: ignore[attr-defined]
    return file.last_error  # type: ignore[attr-defined,no-any-return]


async def bounded(setup: Setup, **limits: int) -> KnowledgeService:
    setup.limits = dataclasses.replace(setup.limits, **limits)
    return await setup.service()


async def test_a_file_past_the_chunk_bound_fails_with_the_reason(setup: Setup) -> None:
    service = await bounded(setup, max_chunks_per_file=5)
    try:
        code, message = await failure_of(service, "many.txt", WORDS)  # 30 chunks of 100
        assert code == IngestError.INVALID_FILE and "more than 5 chunks" in message
        assert service.worker._held == {}
    finally:
        await service.aclose()


async def test_a_file_past_the_text_bound_fails_with_the_reason(setup: Setup) -> None:
    service = await bounded(setup, max_extracted_chars=10_000)
    try:
        code, message = await failure_of(service, "long.txt", WORDS)  # 28,890 characters
        assert code == IngestError.INVALID_FILE and "more than 10000 characters" in message
    finally:
        await service.aclose()


class SlowCounter(FakeEmbedder):
    """Counting tokens takes 40 s of the test's clock, once; meanwhile another replica
    looks for files whose lease ran out."""

    def __init__(self, setup: Setup) -> None:
        super().__init__()
        self.setup = setup
        self.taken_over: list[Any] | None = None

    async def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if self.taken_over is None:
            self.setup.clock.now += 40
            replica = KnowledgeStore(self.setup.store.engine)
            self.taken_over = await replica.claim_files(int(self.setup.clock.now), 60, 10)
        return await super().count_tokens(texts)


async def test_the_lease_is_renewed_after_extraction_and_chunking(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow = SlowCounter(setup)
    service = await setup.service(slow)
    try:
        extract = ingest.extract_text

        def slow_extract(*args: Any) -> str:
            setup.clock.now += 40  # of a 60 s lease
            return extract(*args)

        monkeypatch.setattr(ingest, "extract_text", slow_extract)
        store = await ready_store(service, [("drill.md", DRILL, {})])
        assert slow.taken_over == []  # the lease was renewed before chunking began
        assert store.file_counts.completed == 1
    finally:
        await service.aclose()


async def test_a_claim_lost_after_writing_drops_no_other_workspace_chunks(
    setup: Setup, service: KnowledgeService, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice_store = await ready_store(service, [])
    bob_store = await ready_store(service, [], who=BOB)
    x = await upload(service, "drill.md", DRILL)
    await service.add_file(ALICE, alice_store.id, x.id, attributes={}, chunking=ChunkingStrategy())
    index: ChunkIndex = service.worker._index
    add = index.add

    async def add_after_a_delete(chunks: Sequence[IndexedChunk]) -> None:
        if chunks and chunks[0].file_id == x.id:
            # the client deletes X before its worker completes it, and Bob's file is
            # ingested meanwhile
            await service.delete_file(ALICE, x.id)
            y = await upload(service, "travel.txt", TRAVEL, BOB)
            await service.add_file(
                BOB, bob_store.id, y.id, attributes={}, chunking=ChunkingStrategy()
            )
            while await service.worker.run_once():
                pass
        await add(chunks)

    monkeypatch.setattr(index, "add", add_after_a_delete)
    assert await service.worker.run_once() == 1
    hits = await service.search(BOB, bob_store.id, query("economy flights"))
    assert hits and hits[0].filename == "travel.txt"
    (y_file,) = (
        await service.list_store_files(
            BOB,
            bob_store.id,
            status=None,
            batch_id=None,
            limit=10,
            order=Order.ASC,
            after=None,
            before=None,
        )
    ).data
    assert await service.store_file_chunks(BOB, bob_store.id, y_file.id)  # type: ignore[attr-defined]


async def index_ids(setup: Setup, store_id: str) -> set[int]:
    index = await open_chunk_index(setup.store.engine, setup.data_dir)
    try:
        return {i for i, _ in await index.nearest([store_id], None, [1.0] * 64, 1_000)}
    finally:
        await index.close()


async def test_a_file_attached_again_keeps_no_stale_chunk(
    setup: Setup, service: KnowledgeService
) -> None:
    store = await ready_store(service, [("drill.md", DRILL, {})])
    (file,) = (
        await service.list_files(ALICE, purpose=None, limit=9, order=Order.ASC, after=None)
    ).data
    assert await service.store_file_chunks(ALICE, store.id, file.id)  # type: ignore[attr-defined]
    assert await index_ids(setup, store.id)
    await service.add_file(ALICE, store.id, file.id, attributes={}, chunking=ChunkingStrategy())  # type: ignore[attr-defined]
    # attached again and not ingested yet (it may yet fail, or be cancelled): nothing old
    assert await service.store_file_chunks(ALICE, store.id, file.id) == ()  # type: ignore[attr-defined]
    assert await index_ids(setup, store.id) == set()
    while await service.worker.run_once():
        pass
    assert await service.store_file_chunks(ALICE, store.id, file.id)  # type: ignore[attr-defined]
    await service.remove_file(ALICE, store.id, file.id)  # type: ignore[attr-defined]
    assert await index_ids(setup, store.id) == set()


async def test_searches_within_a_minute_write_nothing(
    setup: Setup, service: KnowledgeService, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await ready_store(service, [("drill.md", DRILL, {})])
    knowledge = service._store
    touched: list[list[str]] = []
    touch = knowledge.touch_stores

    async def counted(store_ids: Sequence[str], now: int) -> None:
        touched.append(list(store_ids))
        await touch(store_ids, now)

    monkeypatch.setattr(knowledge, "touch_stores", counted)
    setup.clock.now += 60
    for _ in range(3):
        assert await service.search(ALICE, store.id, query("Orbital drill"))
        setup.clock.now += 10
    assert touched == [[store.id]]
    setup.clock.now += 60
    assert await service.search(ALICE, store.id, query("Orbital drill"))
    assert touched == [[store.id], [store.id]]
