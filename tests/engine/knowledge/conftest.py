"""A knowledge service over a real store and chunk index (SQLite, and PostgreSQL with
pgvector when OPENSCOPE_TEST_DATABASE_URL names one), the fake embedder and a clock the
test moves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text

from openscope.core.principal import Principal
from openscope.engine.knowledge import KnowledgeLimits, KnowledgeService
from openscope.store import Store, open_store, sqlite_url
from openscope.store.knowledge import KnowledgeStore, LocalBlobStore, open_chunk_index
from openscope.store.knowledge.index.postgres import TABLE
from tests.engine.knowledge.fake_embedder import FakeEmbedder
from tests.store.postgres import NEEDS_POSTGRESQL, PG_URL, reset_postgres

START = 1_800_000_000.0
ALICE = Principal(key_id="k-alice", workspace="w-alice")
BOB = Principal(key_id="k-bob", workspace="w-bob")


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@dataclass
class Setup:
    store: Store
    data_dir: Path
    clock: Clock
    embedder: FakeEmbedder
    limits: KnowledgeLimits

    async def service(self, embedder: FakeEmbedder | None = None) -> KnowledgeService:
        index = await open_chunk_index(self.store.engine, self.data_dir)
        return KnowledgeService(
            KnowledgeStore(self.store.engine),
            LocalBlobStore(self.data_dir / "files"),
            index,
            embedder or self.embedder,
            self.limits,
            clock=self.clock,
        )


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgresql", marks=pytest.mark.skipif(not PG_URL, reason=NEEDS_POSTGRESQL)),
    ]
)
async def setup(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Setup]:
    if request.param == "sqlite":
        url = sqlite_url(tmp_path / "data")
    else:
        assert PG_URL
        await reset_postgres(PG_URL)
        url = PG_URL
    store = await open_store(url)
    if request.param == "postgresql":
        async with store.engine.begin() as conn:
            await conn.execute(text(f"DROP TABLE IF EXISTS {TABLE}"))
    limits = KnowledgeLimits(max_file_bytes=64 * 1024, lease_seconds=60, embed_batch=4)
    yield Setup(store, tmp_path / "data", Clock(), FakeEmbedder(), limits)
    await store.close()


@pytest.fixture
async def service(setup: Setup) -> AsyncIterator[KnowledgeService]:
    made = await setup.service()
    yield made
    await made.aclose()
