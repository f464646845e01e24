"""The store tests' PostgreSQL: the URL `.ci/run` sets, and a reset to a blank database."""

from __future__ import annotations

import os

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from openscope.store.tables import metadata

PG_URL = os.environ.get("OPENSCOPE_TEST_DATABASE_URL")
# .ci/run starts a throwaway PostgreSQL and sets the URL; without one these run on SQLite only
NEEDS_POSTGRESQL = "needs a PostgreSQL: set OPENSCOPE_TEST_DATABASE_URL (.ci/run starts one)"


async def reset_postgres(url: str) -> None:
    """Drop every table of the schema (and Alembic's version table), so the test's
    open_store migrates a blank database through every revision."""
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            for table in (*(t.name for t in reversed(metadata.sorted_tables)), "alembic_version"):
                await conn.execute(text(f"DROP TABLE IF EXISTS {table} CASCADE"))
    finally:
        await engine.dispose()
