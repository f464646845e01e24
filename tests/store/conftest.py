"""The store tests' databases: every test runs on SQLite, and on PostgreSQL as well when
OPENSCOPE_TEST_DATABASE_URL names one (.ci/run starts a throwaway one)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from openscope.store import Store, open_store, sqlite_url
from tests.store.postgres import NEEDS_POSTGRESQL, PG_URL, reset_postgres


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgresql", marks=pytest.mark.skipif(not PG_URL, reason=NEEDS_POSTGRESQL)),
    ]
)
async def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test twice: on SQLite, and on a blank PostgreSQL when there is one."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "data")
    assert PG_URL
    await reset_postgres(PG_URL)
    return PG_URL


@pytest.fixture
async def store(url: str) -> AsyncIterator[Store]:
    opened = await open_store(url)
    yield opened
    await opened.close()
