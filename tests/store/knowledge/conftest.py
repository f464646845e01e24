"""The knowledge store and the chunk index over the store tests' databases (SQLite always,
PostgreSQL with pgvector when OPENSCOPE_TEST_DATABASE_URL names one)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from openscope.store import Store
from openscope.store.knowledge import ChunkIndex, KnowledgeStore, open_chunk_index
from openscope.store.knowledge.index.postgres import TABLE


@pytest.fixture
async def knowledge(store: Store) -> KnowledgeStore:
    return KnowledgeStore(store.engine)


@pytest.fixture
async def index(store: Store, tmp_path: Path) -> AsyncIterator[ChunkIndex]:
    if store.engine.dialect.name == "postgresql":
        async with store.engine.begin() as conn:  # the index's table is not in the schema
            await conn.execute(text(f"DROP TABLE IF EXISTS {TABLE}"))
    opened = await open_chunk_index(store.engine, tmp_path / "index")
    yield opened
    await opened.close()
