from __future__ import annotations

import asyncio
from pathlib import Path

from openscope.core.knowledge import ChunkingStrategy, SearchQuery
from openscope.engine.knowledge import KnowledgeLimits, build_knowledge
from openscope.store import open_store, sqlite_url
from tests.engine.knowledge.conftest import ALICE
from tests.engine.knowledge.fake_embedder import FakeEmbedder


async def test_build_knowledge_beside_a_store(tmp_path: Path) -> None:
    store = await open_store(sqlite_url(tmp_path))
    service = build_knowledge(store, tmp_path, FakeEmbedder(), KnowledgeLimits())
    await service.start()
    try:
        uploaded = await service.upload(ALICE, "a.md", "assistants", b"# Kestrel boots")
        assert (tmp_path / "files").is_dir()
        vs = await service.create_store(
            ALICE,
            name=None,
            description=None,
            metadata={},
            expires_after_days=None,
            file_ids=[uploaded.id],
            chunking=ChunkingStrategy(),
        )
        for _ in range(200):
            if (await service.get_store(ALICE, vs.id)).status == "completed":
                break
            await asyncio.sleep(0.02)
        hits = await service.search_stores(ALICE.workspace, [vs.id], SearchQuery(("boots",)))
        assert hits[0].file_id == uploaded.id
    finally:
        await service.aclose()
        await store.close()
    assert (tmp_path / "knowledge_index.sqlite3").exists()
