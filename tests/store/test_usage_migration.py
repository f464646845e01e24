"""Migration 0005 on a database that has hourly rows of 0004 (requests and errors, no
status), on SQLite and on PostgreSQL: a row whose events are all kept is rebuilt from them
per status, any other is split into `ok` and `failed_code_not_kept`, and every old key
keeps its counts; the downgrade adds them back up."""

from __future__ import annotations

import asyncio
import importlib
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from openscope.core.billing import STATUS_NOT_KEPT
from openscope.store import create_engine, migrate, open_store
from openscope.store.database import MIGRATIONS
from openscope.store.usage import LEDGER_LOCK_KEY as LOCK_KEY
from tests.store.postgres import NEEDS_POSTGRESQL, PG_URL, reset_postgres

HOUR = 3600
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
OLD_KEY = ("hour", "workspace", "key_id", "model", "api")
SUMS = ("input_tokens", "output_tokens", "reasoning_tokens", "cached_tokens")
SUMS += ("cache_creation_tokens", "billed_input_tokens", "cost")

Event = tuple[int, str, str, int, int]  # hour, key id, status, input and output tokens
# Hour A: every event kept. Hour B: one of its five kept (the others purged). Hours C and D:
# none kept, every request failed (C) or none did (D).
ROLLED_UP: list[Event] = [
    (T0, "key-1", "ok", 100, 10),
    (T0, "key-1", "ok", 50, 5),
    (T0, "key-1", "limit_requests", 0, 0),
    (T0, "key-1", "cancelled", 30, 2),
    (T0, "key-2", "ok", 7, 1),
    (T0 + HOUR, "key-1", "ok", 100, 10),
]
NOT_ROLLED_UP: Event = (T0, "key-1", "InvalidParameter", 9, 0)  # above the mark
# hour, key id, requests, errors, input and output tokens, as 0004 kept them
OLD_ROWS = [
    (T0, "key-1", 4, 2, 180, 17),
    (T0, "key-2", 1, 0, 7, 1),
    (T0 + HOUR, "key-1", 5, 2, 500, 50),
    (T0 + 2 * HOUR, "key-1", 2, 2, 40, 0),
    (T0 + 3 * HOUR, "key-1", 3, 0, 60, 6),
]


def sums(input_tokens: int, output_tokens: int) -> dict[str, Any]:
    """The summed columns of a row or an event with these tokens (the rows of hour A add
    up to its events' sums)."""
    return {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "reasoning_tokens": output_tokens // 2,
        "cached_tokens": input_tokens // 10,
        "cache_creation_tokens": 0,
        "billed_input_tokens": input_tokens * 0.85,
        "cost": (input_tokens + output_tokens) / 1000,
    }


def group(hour: int, key_id: str) -> dict[str, Any]:
    return {
        "hour": hour,
        "workspace": "ws-a",
        "key_id": key_id,
        "model": "qwen-plus",
        "api": "chat",
    }


async def insert_event(conn: Any, n: int, event: Event) -> None:
    hour, key_id, status, input_tokens, output_tokens = event
    row = {
        **{k: v for k, v in group(hour, key_id).items() if k != "hour"},
        "request_id": f"req-{n}",
        "created_at": (hour + 60 + n) * 1000,
        "status": status,
        **sums(input_tokens, output_tokens),
        "builtin_tools": "{}",
        "latency_ms": 10,
        "ttft_ms": None,
        "cache_type": None,
    }
    await conn.execute(
        text(f"INSERT INTO usage_events ({', '.join(row)}) VALUES (:{', :'.join(row)})"), row
    )


async def fill_0004(engine: AsyncEngine) -> None:
    """The ledger as 0004 kept it: events, the rollup's mark, and the hourly rows."""
    async with engine.begin() as conn:
        for n, event in enumerate(ROLLED_UP):
            await insert_event(conn, n, event)
        mark = (await conn.execute(text("SELECT max(seq) FROM usage_events"))).scalar_one()
        await conn.execute(
            text("INSERT INTO rollup_marks (name, seq) VALUES ('usage_hourly', :seq)"),
            {"seq": mark},
        )
        await insert_event(conn, len(ROLLED_UP), NOT_ROLLED_UP)
        for hour, key_id, requests, errors, input_tokens, output_tokens in OLD_ROWS:
            row = {
                **group(hour, key_id),
                "requests": requests,
                "errors": errors,
                **sums(input_tokens, output_tokens),
            }
            await conn.execute(
                text(f"INSERT INTO usage_hourly ({', '.join(row)}) VALUES (:{', :'.join(row)})"),
                row,
            )


async def hourly_rows(engine: AsyncEngine, columns: tuple[str, ...]) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        found = await conn.execute(text(f"SELECT {', '.join(columns)} FROM usage_hourly"))
        rows = [dict(row) for row in found.mappings()]
    return sorted(rows, key=lambda row: tuple(str(row[c]) for c in columns))


def new_row(hour: int, key_id: str, status: str, requests: int, tokens: tuple[int, int]) -> Any:
    row = {**group(hour, key_id), "status": status, "requests": requests, **sums(*tokens)}
    return pytest.approx(row)


def summed_per_old_key(rows: list[dict[str, Any]]) -> dict[tuple[Any, ...], dict[str, Any]]:
    """0005's rows added up per 0004's key, errors being the requests not ok."""
    added: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        sums_of = added.setdefault(
            tuple(row[k] for k in OLD_KEY), dict.fromkeys(("requests", "errors", *SUMS), 0)
        )
        sums_of["requests"] += row["requests"]
        sums_of["errors"] += row["requests"] if row["status"] != "ok" else 0
        for name in SUMS:
            sums_of[name] += row[name]
    return added


def downgrade_to(revision: str) -> Any:
    def run(connection: Connection) -> None:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        command.downgrade(config, revision)

    return run


async def test_old_hourly_rows_get_statuses_and_keep_their_counts(url: str) -> None:
    engine = create_engine(url)
    try:
        await migrate(engine, "0004")
        await fill_0004(engine)
        old_columns = (*OLD_KEY, "requests", "errors", *SUMS)
        before = await hourly_rows(engine, old_columns)
        store = await open_store(url)  # migrates to the newest revision
        try:
            page = await store.usage_buckets(
                start=T0, end=T0 + 4 * HOUR, width="1h", group_by=["key_id", "status"], limit=4
            )
        finally:
            await store.close()

        rows = await hourly_rows(engine, (*OLD_KEY, "status", "requests", *SUMS))
        assert rows == [
            # hour A, rebuilt from its events: one row per status
            new_row(T0, "key-1", "cancelled", 1, (30, 2)),
            new_row(T0, "key-1", "limit_requests", 1, (0, 0)),
            new_row(T0, "key-1", "ok", 2, (150, 15)),
            new_row(T0, "key-2", "ok", 1, (7, 1)),
            # hour B, its events partly purged: split, the tokens with the ok requests
            new_row(T0 + HOUR, "key-1", STATUS_NOT_KEPT, 2, (0, 0)),
            new_row(T0 + HOUR, "key-1", "ok", 3, (500, 50)),
            # hour C, every request failed: the tokens with them
            new_row(T0 + 2 * HOUR, "key-1", STATUS_NOT_KEPT, 2, (40, 0)),
            new_row(T0 + 3 * HOUR, "key-1", "ok", 3, (60, 6)),
        ]
        # the 0004 rows' counts, key by key
        assert summed_per_old_key(rows) == {
            tuple(row[k] for k in OLD_KEY): pytest.approx({k: row[k] for k in old_columns[5:]})
            for row in before
        }
        # the queries read the event not rolled up yet on top of the rebuilt rows
        hour_a = [(r.key_id, r.status, r.requests) for r in page.buckets[0].results]
        assert hour_a == [
            ("key-1", "InvalidParameter", 1),
            ("key-1", "cancelled", 1),
            ("key-1", "limit_requests", 1),
            ("key-1", "ok", 2),
            ("key-2", "ok", 1),
        ]

        async with engine.begin() as conn:
            await conn.run_sync(downgrade_to("0004"))
        assert await hourly_rows(engine, old_columns) == [pytest.approx(row) for row in before]
    finally:
        await engine.dispose()


def test_the_migration_names_the_status_the_code_uses() -> None:
    migration = importlib.import_module("openscope.store.migrations.versions.0005_hourly_status")
    assert migration.STATUS_NOT_KEPT == STATUS_NOT_KEPT


@pytest.mark.skipif(not PG_URL, reason=NEEDS_POSTGRESQL)
async def test_the_migration_waits_for_a_running_rollup_instead_of_deadlocking() -> None:
    """A replica's rollup holds the ledger lock and is about to write `usage_hourly` when
    another replica starts and migrates: the migration must wait for it (taking the lock
    before touching the table), not take the table first and deadlock."""
    await reset_postgres(PG_URL)
    engine, rollup_engine = create_engine(PG_URL), create_engine(PG_URL)
    try:
        await migrate(engine, "0004")
        async with rollup_engine.connect() as rollup:
            transaction = await rollup.begin()
            await rollup.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
            migrating = asyncio.create_task(migrate(create_engine(PG_URL)))
            await asyncio.sleep(1.0)  # the migration is under way, waiting if it is right
            assert not migrating.done()
            row = {**group(T0, "key-1"), "requests": 1, "errors": 0, **sums(1, 1)}
            await rollup.execute(
                text(f"INSERT INTO usage_hourly ({', '.join(row)}) VALUES (:{', :'.join(row)})"),
                row,
            )
            await transaction.commit()
        await asyncio.wait_for(migrating, timeout=30)
        rows = await hourly_rows(engine, (*OLD_KEY, "status", "requests"))
        assert [(r["key_id"], r["status"], r["requests"]) for r in rows] == [("key-1", "ok", 1)]
    finally:
        await engine.dispose()
        await rollup_engine.dispose()
