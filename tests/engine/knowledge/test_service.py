from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence

import pytest

from openscope.core.errors import InvalidParameter, NotFound
from openscope.core.knowledge import (
    ChunkingStrategy,
    Comparison,
    Compound,
    Embeddings,
    EmbeddingUse,
    FileStatus,
    IngestError,
    SearchQuery,
    StoredFile,
    VectorStore,
)
from openscope.core.principal import Principal
from openscope.core.state import Order
from openscope.engine.knowledge import KnowledgeService
from tests.engine.knowledge.conftest import ALICE, BOB, Setup
from tests.engine.knowledge.fake_embedder import FakeEmbedder
from tests.tools.file_search.documents import docx_with, pdf_with_text

DRILL = b"The Orbital K7 drill has a brushless motor and a 2.5 Ah battery. " * 3
TRAVEL = b"Travel policy 2025: economy class for flights under six hours."
TRAVEL_OLD = b"Travel policy 2023: business class for flights over four hours."


async def upload(
    service: KnowledgeService, name: str, content: bytes, who: Principal = ALICE
) -> StoredFile:
    return await service.upload(who, name, "assistants", content)


async def ready_store(
    service: KnowledgeService,
    files: list[tuple[str, bytes, dict[str, object]]],
    who: Principal = ALICE,
) -> VectorStore:
    store = await service.create_store(
        who,
        name="docs",
        description=None,
        metadata={},
        expires_after_days=None,
        file_ids=[],
        chunking=ChunkingStrategy(100, 20),
    )
    for name, content, attributes in files:
        uploaded = await upload(service, name, content, who)
        await service.add_file(
            who,
            store.id,
            uploaded.id,
            attributes=attributes,
            chunking=ChunkingStrategy(100, 20),  # type: ignore[arg-type]
        )
    while await service.worker.run_once():
        pass
    return await service.get_store(who, store.id)


def query(text: str, **kw: object) -> SearchQuery:
    return SearchQuery(queries=(text,), **kw)  # type: ignore[arg-type]


async def test_upload_read_list_and_delete(service: KnowledgeService) -> None:
    stored = await upload(service, "notes.txt", b"hello")
    assert (stored.bytes, stored.purpose, stored.expires_at) == (5, "assistants", None)
    assert await service.file_content(ALICE, stored.id) == b"hello"
    page = await service.list_files(ALICE, purpose=None, limit=10, order=Order.DESC, after=None)
    assert page.data == (stored,)
    await service.delete_file(ALICE, stored.id)
    with pytest.raises(NotFound):
        await service.file_content(ALICE, stored.id)


async def test_uploads_are_refused_past_the_limits(service: KnowledgeService) -> None:
    with pytest.raises(InvalidParameter) as too_big:
        await upload(service, "big.txt", b"x" * (64 * 1024 + 1))
    assert too_big.value.param == "file"
    with pytest.raises(InvalidParameter) as purpose:
        await service.upload(ALICE, "a.txt", "nonsense", b"x")
    assert purpose.value.param == "purpose"


async def test_files_are_ingested_and_found(service: KnowledgeService) -> None:
    store = await ready_store(
        service, [("drill.md", DRILL, {}), ("travel.txt", TRAVEL, {"year": 2025})]
    )
    assert store.status == "completed" and store.file_counts.completed == 2
    assert store.usage_bytes > 0
    hits = await service.search(ALICE, store.id, query("Orbital drill battery"))
    assert hits[0].filename == "drill.md" and hits[0].score == 1.0
    assert "brushless motor" in hits[0].text
    travel = await service.search(ALICE, store.id, query("economy flights"))
    assert travel[0].filename == "travel.txt" and travel[0].attributes == {"year": 2025}


async def test_each_format_is_ingested(service: KnowledgeService) -> None:
    store = await ready_store(
        service,
        [
            ("manual.pdf", pdf_with_text("The Orbital K7 drill charges in 40 minutes."), {}),
            ("policy.docx", docx_with(["Economy class for flights under six hours."]), {}),
            (
                "page.html",
                b"<html><body><article><p>Kestrel boots return within 45 days of delivery"
                b" to Tarnwick.</p></article></body></html>",
                {},
            ),
        ],
    )
    assert store.file_counts.completed == 3, store
    for text, filename in (
        ("drill charges", "manual.pdf"),
        ("economy class", "policy.docx"),
        ("Kestrel boots", "page.html"),
    ):
        hits = await service.search(ALICE, store.id, query(text, max_num_results=1))
        assert hits[0].filename == filename


async def test_unreadable_files_fail_with_the_reason(service: KnowledgeService) -> None:
    store = await ready_store(
        service, [("photo.png", b"\x89PNG\r\n\x1a\n\x00\x00", {}), ("fake.pdf", b"not a pdf", {})]
    )
    assert store.file_counts.failed == 2 and store.status == "completed"
    page = await service.list_store_files(
        ALICE,
        store.id,
        status=FileStatus.FAILED,
        batch_id=None,
        limit=10,
        order=Order.ASC,
        after=None,
        before=None,
    )
    errors = {f.last_error[0] for f in page.data if f.last_error}  # type: ignore[attr-defined]
    assert errors == {IngestError.UNSUPPORTED_FILE, IngestError.INVALID_FILE}


async def test_chunks_respect_the_strategy(service: KnowledgeService) -> None:
    long_text = " ".join(f"word{i}" for i in range(1000)).encode()
    store = await ready_store(service, [("long.txt", long_text, {})])
    (file,) = (
        await service.list_store_files(
            ALICE,
            store.id,
            status=None,
            batch_id=None,
            limit=1,
            order=Order.ASC,
            after=None,
            before=None,
        )
    ).data
    chunks = await service.store_file_chunks(ALICE, store.id, file.id)  # type: ignore[attr-defined]
    assert len(chunks) >= 10
    assert all(len(chunk.split()) <= 100 for chunk in chunks)


async def test_filters_narrow_the_files_searched(service: KnowledgeService) -> None:
    store = await ready_store(
        service,
        [
            ("new.txt", TRAVEL, {"year": 2025, "kind": "policy"}),
            ("old.txt", TRAVEL_OLD, {"year": 2023, "kind": "policy"}),
        ],
    )
    recent = await service.search(
        ALICE, store.id, query("travel policy flights", filters=Comparison("year", "gte", 2024))
    )
    assert [h.filename for h in recent] == ["new.txt"]
    both = Compound(
        "and", (Comparison("kind", "eq", "policy"), Comparison("year", "in", (2023, 2025)))
    )
    assert len(await service.search(ALICE, store.id, query("travel", filters=both))) == 2
    assert (
        await service.search(
            ALICE, store.id, query("travel", filters=Comparison("kind", "eq", "recipe"))
        )
        == ()
    )


async def test_score_threshold_and_max_results(service: KnowledgeService) -> None:
    files = [
        (f"f{i}.txt", f"Orbital drill model K{i} with battery pack {i}.".encode(), {})
        for i in range(6)
    ]
    store = await ready_store(service, files)
    assert (
        len(
            await service.search(ALICE, store.id, query("Orbital drill battery", max_num_results=3))
        )
        == 3
    )
    strict = await service.search(
        ALICE, store.id, query("Orbital drill battery K3", score_threshold=0.99)
    )
    assert [h.filename for h in strict] == ["f3.txt"]
    with pytest.raises(InvalidParameter):
        await service.search(ALICE, store.id, query("x", max_num_results=51))


async def test_several_queries_keep_each_chunk_best_score(service: KnowledgeService) -> None:
    store = await ready_store(service, [("drill.md", DRILL, {}), ("travel.txt", TRAVEL, {})])
    hits = await service.search(
        ALICE, store.id, SearchQuery(queries=("Orbital drill", "economy flights"))
    )
    assert {h.filename for h in hits if h.score == 1.0} == {"drill.md", "travel.txt"}


async def test_modes_for_measuring_retrieval(service: KnowledgeService) -> None:
    store = await ready_store(service, [("drill.md", DRILL, {}), ("travel.txt", TRAVEL, {})])
    for mode in ("hybrid", "vector", "keyword"):
        hits = await service.search_stores(
            ALICE.workspace, [store.id], query("economy flights"), mode=mode
        )  # type: ignore[arg-type]
        assert hits[0].filename == "travel.txt"


async def test_another_workspace_sees_nothing(service: KnowledgeService) -> None:
    store = await ready_store(service, [("drill.md", DRILL, {})])
    (file,) = (
        await service.list_files(ALICE, purpose=None, limit=1, order=Order.ASC, after=None)
    ).data
    file_id = file.id  # type: ignore[attr-defined]
    for attempt in (
        service.get_file(BOB, file_id),
        service.file_content(BOB, file_id),
        service.delete_file(BOB, file_id),
        service.get_store(BOB, store.id),
        service.delete_store(BOB, store.id),
        service.search(BOB, store.id, query("drill")),
        service.search_stores(BOB.workspace, [store.id], query("drill")),
        service.get_store_file(BOB, store.id, file_id),
        service.store_file_chunks(BOB, store.id, file_id),
        service.remove_file(BOB, store.id, file_id),
    ):
        with pytest.raises(NotFound):
            await attempt
    bobs = await service.create_store(
        BOB,
        name=None,
        description=None,
        metadata={},
        expires_after_days=None,
        file_ids=[],
        chunking=ChunkingStrategy(),
    )
    with pytest.raises(NotFound):  # Alice's file in Bob's store
        await service.add_file(BOB, bobs.id, file_id, attributes={}, chunking=ChunkingStrategy())
    with pytest.raises(NotFound):  # one foreign store among the named ones
        await service.search_stores(ALICE.workspace, [store.id, bobs.id], query("drill"))
    assert (
        await service.list_stores(BOB, limit=10, order=Order.ASC, after=None, before=None)
    ).data == (bobs,)


async def test_a_store_past_its_expiry_is_expired_and_refuses_search(
    service: KnowledgeService, setup: Setup
) -> None:
    store = await service.create_store(
        ALICE,
        name=None,
        description=None,
        metadata={},
        expires_after_days=1,
        file_ids=[],
        chunking=ChunkingStrategy(),
    )
    setup.clock.now += 12 * 3600
    await service.search(ALICE, store.id, query("anything"))  # use moves the expiry on
    setup.clock.now += 20 * 3600
    assert (await service.get_store(ALICE, store.id)).status == "completed"
    setup.clock.now += 5 * 3600
    assert (await service.get_store(ALICE, store.id)).status == "expired"
    with pytest.raises(InvalidParameter, match="expired"):
        await service.search(ALICE, store.id, query("anything"))
    cleared = await service.update_store(ALICE, store.id, clear_expiry=True)
    assert cleared.status == "completed" and cleared.expires_at is None


async def test_a_store_made_with_another_embedder_is_refused(
    service: KnowledgeService, setup: Setup
) -> None:
    store = await ready_store(service, [("drill.md", DRILL, {})])
    other = await setup.service(FakeEmbedder(model="other", dimensions=16))
    try:
        with pytest.raises(InvalidParameter, match="fake-bow"):
            await other.search(ALICE, store.id, query("drill"))
        uploaded = await upload(other, "more.txt", b"more")
        with pytest.raises(InvalidParameter, match="other"):
            await other.add_file(
                ALICE, store.id, uploaded.id, attributes={}, chunking=ChunkingStrategy()
            )
    finally:
        await other.worker.aclose()


async def test_removing_and_deleting_files_takes_them_out_of_search(
    service: KnowledgeService,
) -> None:
    store = await ready_store(service, [("drill.md", DRILL, {}), ("travel.txt", TRAVEL, {})])
    files = {
        f.filename: f
        for f in (
            await service.list_files(ALICE, purpose=None, limit=9, order=Order.ASC, after=None)
        ).data
    }  # type: ignore[attr-defined]
    await service.remove_file(ALICE, store.id, files["drill.md"].id)
    assert all(
        h.filename != "drill.md"
        for h in await service.search(ALICE, store.id, query("Orbital drill"))
    )
    assert await service.get_file(ALICE, files["drill.md"].id)  # the upload stays
    await service.delete_file(ALICE, files["travel.txt"].id)
    assert await service.search(ALICE, store.id, query("economy travel")) == ()
    assert (await service.get_store(ALICE, store.id)).file_counts.total == 0


async def test_batches_and_cancelling(service: KnowledgeService) -> None:
    store = await ready_store(service, [])
    uploaded = [await upload(service, f"f{i}.txt", f"file number {i}".encode()) for i in range(3)]
    batch = await service.create_batch(
        ALICE, store.id, [(f.id, {"n": i}) for i, f in enumerate(uploaded)], ChunkingStrategy()
    )
    assert batch.status == FileStatus.IN_PROGRESS and batch.file_counts.in_progress == 3
    cancelled = await service.cancel_batch(ALICE, store.id, batch.id)
    assert cancelled.status == FileStatus.CANCELLED and cancelled.file_counts.cancelled == 3
    assert await service.worker.run_once() == 0
    with pytest.raises(NotFound):
        await service.get_batch(BOB, store.id, batch.id)


async def test_a_cancelled_file_being_ingested_leaves_nothing_behind(
    service: KnowledgeService, setup: Setup
) -> None:
    store = await ready_store(service, [])
    uploaded = await upload(service, "drill.md", DRILL)
    batch = await service.create_batch(
        ALICE, store.id, [(uploaded.id, {})], ChunkingStrategy(100, 20)
    )
    knowledge = service._store  # the worker's view
    (claim,) = await knowledge.claim_files(int(setup.clock.now), 60, 1)
    await service.cancel_batch(ALICE, store.id, batch.id)
    await service.worker.ingest(claim)  # finds its claim gone and drops its work
    assert await service.store_file_chunks(ALICE, store.id, uploaded.id) == ()
    assert (
        await service.get_store_file(ALICE, store.id, uploaded.id)
    ).status == FileStatus.CANCELLED


async def test_a_crashed_worker_file_is_resumed_after_its_lease(
    service: KnowledgeService, setup: Setup
) -> None:
    store = await ready_store(service, [])
    uploaded = await upload(service, "drill.md", DRILL)
    await service.add_file(
        ALICE, store.id, uploaded.id, attributes={}, chunking=ChunkingStrategy(100, 20)
    )
    knowledge = service._store
    (crashed,) = await knowledge.claim_files(int(setup.clock.now), 60, 1)  # and then died
    assert await service.worker.run_once() == 0  # the lease still holds
    assert (await service.get_store(ALICE, store.id)).status == "in_progress"
    setup.clock.now += 61
    restarted = await setup.service()  # a new server process
    try:
        assert await restarted.worker.run_once() == 1
    finally:
        await restarted.worker.aclose()
    assert (
        await service.get_store_file(ALICE, store.id, uploaded.id)
    ).status == FileStatus.COMPLETED
    assert not await knowledge.complete(crashed, 1)  # the dead worker's claim is void
    assert (await service.search(ALICE, store.id, query("Orbital drill")))[0].filename == "drill.md"


class StuckEmbedder(FakeEmbedder):
    """Embeds passages only once `go` is set: a worker stopped meanwhile is mid-file."""

    def __init__(self) -> None:
        super().__init__()
        self.embedding = asyncio.Event()
        self.go = asyncio.Event()

    async def embed(self, texts: Sequence[str], use: EmbeddingUse = "passage") -> Embeddings:
        if use == "passage":
            self.embedding.set()
            await self.go.wait()
        return await super().embed(texts, use)


async def test_a_stopped_worker_gives_its_files_back_at_once(setup: Setup) -> None:
    stuck = StuckEmbedder()
    stopping = await setup.service(stuck)
    store = await ready_store(stopping, [])
    uploaded = await upload(stopping, "drill.md", DRILL)
    await stopping.add_file(
        ALICE, store.id, uploaded.id, attributes={}, chunking=ChunkingStrategy(100, 20)
    )
    await stopping.start()
    await asyncio.wait_for(stuck.embedding.wait(), 10)
    await stopping.worker.aclose()  # a server stopping mid-file, its lease far from over
    restarted = await setup.service(FakeEmbedder(stuck.model, stuck.dimensions))
    try:
        assert await restarted.worker.run_once() == 1  # taken at once, not after the lease
    finally:
        await restarted.worker.aclose()
    done = await restarted.get_store_file(ALICE, store.id, uploaded.id)
    assert done.status == FileStatus.COMPLETED


async def test_the_background_worker_ingests_on_its_own(service: KnowledgeService) -> None:
    await service.start()
    store = await ready_store(service, [])
    uploaded = await upload(service, "drill.md", DRILL)
    await service.add_file(ALICE, store.id, uploaded.id, attributes={}, chunking=ChunkingStrategy())
    for _ in range(200):
        if (await service.get_store(ALICE, store.id)).status == "completed":
            break
        await asyncio.sleep(0.02)
    assert (await service.get_store(ALICE, store.id)).file_counts.completed == 1


async def test_a_workspace_keeps_no_more_files_or_bytes_than_its_quota(setup: Setup) -> None:
    setup.limits = dataclasses.replace(
        setup.limits, max_files_per_workspace=2, max_bytes_per_workspace=10
    )
    quoted = await setup.service()
    try:
        await quoted.upload(ALICE, "a.txt", "assistants", b"1234")
        with pytest.raises(InvalidParameter) as too_big:
            await quoted.upload(ALICE, "b.txt", "assistants", b"1234567")  # 4 + 7 > 10
        assert too_big.value.code == "storage_quota_exceeded"
        kept = await quoted.upload(ALICE, "b.txt", "assistants", b"123456")  # 10 in all
        with pytest.raises(InvalidParameter) as too_many:
            await quoted.upload(ALICE, "c.txt", "assistants", b"")
        assert "2 files" in too_many.value.message
        # another workspace has a quota of its own
        await quoted.upload(BOB, "c.txt", "assistants", b"123")
        # what is deleted no longer counts, and a refused upload left no bytes behind
        await quoted.delete_file(ALICE, kept.id)
        await quoted.upload(ALICE, "d.txt", "assistants", b"12")
        listed = await quoted.list_files(ALICE, purpose=None, limit=10, order=Order.ASC, after=None)
        assert sorted(f.filename for f in listed.data) == ["a.txt", "d.txt"]  # type: ignore[attr-defined]
        blobs = [p for p in (setup.data_dir / "files").rglob("*") if p.is_file()]
        assert len(blobs) == 3  # Alice's two and Bob's one
    finally:
        await quoted.aclose()


async def test_expired_files_are_swept(service: KnowledgeService, setup: Setup) -> None:
    short = await service.upload(ALICE, "short.txt", "assistants", b"x", expires_after_seconds=60)
    kept = await upload(service, "kept.txt", b"y")
    assert short.expires_at == short.created_at + 60
    assert await service.sweep_expired_files() == 0
    setup.clock.now += 61
    assert await service.sweep_expired_files() == 1
    with pytest.raises(NotFound):
        await service.get_file(ALICE, short.id)
    assert await service.get_file(ALICE, kept.id) == kept


async def test_bad_chunking_and_expiry_are_refused(service: KnowledgeService) -> None:
    with pytest.raises(InvalidParameter) as chunking:
        await service.create_store(
            ALICE,
            name=None,
            description=None,
            metadata={},
            expires_after_days=None,
            file_ids=[],
            chunking=ChunkingStrategy(50, 10),
        )
    assert chunking.value.param == "chunking_strategy"
    with pytest.raises(InvalidParameter):
        await service.create_store(
            ALICE,
            name=None,
            description=None,
            metadata={},
            expires_after_days=0,
            file_ids=[],
            chunking=ChunkingStrategy(),
        )
    with pytest.raises(NotFound):
        await service.create_store(
            ALICE,
            name=None,
            description=None,
            metadata={},
            expires_after_days=None,
            file_ids=["file-missing"],
            chunking=ChunkingStrategy(),
        )


async def test_deleting_a_store_deletes_its_chunks_not_its_files(
    service: KnowledgeService, setup: Setup
) -> None:
    store = await ready_store(service, [("drill.md", DRILL, {})])
    other = await ready_store(service, [("drill2.md", DRILL, {})])
    await service.delete_store(ALICE, store.id)
    with pytest.raises(NotFound):
        await service.get_store(ALICE, store.id)
    with pytest.raises(NotFound):
        await service.search(ALICE, store.id, query("drill"))
    assert (
        len(
            (
                await service.list_files(ALICE, purpose=None, limit=9, order=Order.ASC, after=None)
            ).data
        )
        == 2
    )
    assert (await service.search(ALICE, other.id, query("Orbital drill")))[
        0
    ].filename == "drill2.md"


async def test_adding_files_counts_as_use(service: KnowledgeService, setup: Setup) -> None:
    store = await ready_store(service, [])
    setup.clock.now += 100
    uploaded = await upload(service, "a.txt", b"words")
    await service.add_file(ALICE, store.id, uploaded.id, attributes={}, chunking=ChunkingStrategy())
    assert (await service.get_store(ALICE, store.id)).last_active_at == store.last_active_at + 100
