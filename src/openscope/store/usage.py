"""Queries on the usage ledger: append-only events (`usage_events`), their hourly rollup
(`usage_hourly`) and how far the rollup has read (`rollup_marks`). Each function runs
inside the caller's transaction; the `Store` decides where transactions begin and end.

The rollup's consistency rule. The rollup adds the events with `seq > mark` to the hourly
rows and moves the mark to the highest seq it added, so it must never see seq N committed
while a lower seq is still to come, or that event would fall below the mark unread:

- PostgreSQL hands out seqs at INSERT, and transactions commit in any order. So every
  transaction that inserts events first takes the ledger's advisory lock *shared*
  (`hold_rollup_off`), and the rollup takes it *exclusive* before it reads. Inserts never
  wait for each other; the rollup waits for the inserts in flight to commit, and inserts
  that come later wait for the rollup (milliseconds, once a minute) and take their seqs
  after it: every seq at or below the new mark is committed or never will be (a rolled
  back insert only leaves a gap). The rollup also locks the mark row FOR UPDATE, so two
  replicas rolling up at once take turns instead of adding the same events twice.
- SQLite has one writer at a time (writes BEGIN IMMEDIATE), and a rowid is the highest one
  plus one, taken inside that writer: seq order is commit order.

This is exact, where a settle lag (only roll up events older than a few seconds) would only
be likely: the time from taking a seq to committing it has no bound (a stalled database, a
backlogged writer). Queries read the hourly rows plus the events above the mark in one
snapshot, so they count every committed event exactly once, before or after its rollup.

Whatever else reads events at or below the mark into hourly rows takes the lock exclusive
too: migration 0005 does, which rebuilt the hourly rows of its time per status from their
events.

The hourly rows are keyed by status as well (one row per hour, workspace, key, model, API
and status), so a query can group by status, and `errors` is the requests of the rows
whose status is not ok.

Retention deletes only events below the mark: nothing is purged before it is rolled up,
and the event at the mark is kept, so SQLite (whose rowids restart after the highest row
left) never hands out a seq at or below the mark again."""

from __future__ import annotations

import functools
import itertools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import (
    ColumnElement,
    RowMapping,
    Select,
    Table,
    case,
    delete,
    exists,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from openscope.core.billing import (
    BUCKET_SECONDS,
    GROUP_FIELDS,
    OK,
    BucketWidth,
    GroupField,
    UsageBucket,
    UsagePage,
    UsageRecord,
    UsageTotals,
)
from openscope.store.tables import rollup_marks, usage_events, usage_hourly

MARK = "usage_hourly"  # the rollup's row in rollup_marks
# The advisory lock inserts take shared and the rollup exclusive (PostgreSQL only).
LEDGER_LOCK_KEY = 0x6F73_6C65_6467_6572  # "osledger"
HOUR_MS = 3_600_000
DEFAULT_LIMITS: dict[str, int] = {"1h": 24, "1d": 7}  # OpenAI's usage API's defaults

TOKENS = (
    "input_tokens",
    "output_tokens",
    "reasoning_tokens",
    "cached_tokens",
    "cache_creation_tokens",
)
COUNTS = ("requests", "errors", *TOKENS)
AMOUNTS = ("billed_input_tokens", "cost")
SUMS = COUNTS + AMOUNTS  # what a query sums
HOURLY_SUMS = ("requests", *TOKENS, *AMOUNTS)  # the hourly row's summed columns
KEY = ("hour", "workspace", "key_id", "model", "api", "status")

e = usage_events
h = usage_hourly


def _postgresql(conn: AsyncConnection) -> bool:
    return conn.dialect.name == "postgresql"


def _insert(conn: AsyncConnection, table: Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that can say ON CONFLICT, in the connection's dialect."""
    return postgresql.insert(table) if _postgresql(conn) else sqlite.insert(table)


# The ledger's insert, written once per dialect and handed to the driver as it is: the
# records of a batch are plain tuples (`event_values`), with no per-row parameter
# processing by SQLAlchemy (which cost more than the database's own work per row). On
# SQLite one multi-row INSERT per `SQLITE_ROWS_PER_INSERT` records, run on the driver's
# thread: an executemany releases and takes back the GIL around every row, and each time
# the event loop's thread must hand it over (a switch of threads on a busy core, and the
# loop stalled until it does); on PostgreSQL one statement that unnests an array per
# column. Either skips request ids already in (or earlier in the batch), and the row count
# says how many went in.
EVENT_COLUMNS = (
    "request_id",
    "created_at",
    "workspace",
    "key_id",
    "model",
    "api",
    "status",
    "input_tokens",
    "output_tokens",
    "reasoning_tokens",
    "cached_tokens",
    "cache_creation_tokens",
    "cache_type",
    "builtin_tools",
    "billed_input_tokens",
    "cost",
    "latency_ms",
    "ttft_ms",
)
SQLITE_ROWS_PER_INSERT = 500  # 9,000 parameters, within SQLite's 32,766


@functools.lru_cache(maxsize=64)
def sqlite_insert_events(rows: int) -> str:
    """The INSERT of `rows` records (the driver keeps each text's prepared statement)."""
    values = "(" + ", ".join("?" for _ in EVENT_COLUMNS) + ")"
    return (
        f"INSERT INTO usage_events ({', '.join(EVENT_COLUMNS)}) "
        f"VALUES {', '.join(values for _ in range(rows))} ON CONFLICT (request_id) DO NOTHING"
    )


def _postgresql_insert_events() -> str:
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    arrays = []
    picked = []
    for n, name in enumerate(EVENT_COLUMNS, start=1):
        column = e.c[name]
        if name == "builtin_tools":  # text into the array, json out of it
            arrays.append(f"${n}::text[]")
            picked.append(f"{name}::json")
        else:
            arrays.append(f"${n}::{column.type.compile(dialect=dialect)}[]")
            picked.append(name)
    return (
        f"INSERT INTO usage_events ({', '.join(EVENT_COLUMNS)}) "
        f"SELECT {', '.join(picked)} FROM unnest({', '.join(arrays)}) "
        f"AS batch({', '.join(EVENT_COLUMNS)}) ON CONFLICT (request_id) DO NOTHING"
    )


POSTGRESQL_INSERT_EVENTS = _postgresql_insert_events()


def event_values(record: UsageRecord) -> tuple[Any, ...]:
    """A record as the values of `EVENT_COLUMNS`, in that order (the built-in tool
    counts as the JSON text SQLAlchemy's JSON type writes and reads)."""
    return (
        record.request_id,
        record.created_at_ms,
        record.workspace,
        record.key_id,
        record.model,
        record.api,
        record.status,
        record.input_tokens,
        record.output_tokens,
        record.reasoning_tokens,
        record.cached_tokens,
        record.cache_creation_tokens,
        record.cache_type,
        json.dumps(dict(record.builtin_tools)) if record.builtin_tools else "{}",
        float(record.billed_input_tokens),
        float(record.cost),
        record.latency_ms,
        record.ttft_ms,
    )


def record_from_row(row: RowMapping) -> UsageRecord:
    return UsageRecord(
        request_id=row["request_id"],
        created_at_ms=row["created_at"],
        workspace=row["workspace"],
        key_id=row["key_id"],
        model=row["model"],
        api=row["api"],
        status=row["status"],
        input_tokens=row["input_tokens"],
        output_tokens=row["output_tokens"],
        reasoning_tokens=row["reasoning_tokens"],
        cached_tokens=row["cached_tokens"],
        cache_creation_tokens=row["cache_creation_tokens"],
        cache_type=row["cache_type"],
        builtin_tools={str(k): int(v) for k, v in row["builtin_tools"].items()},
        latency_ms=row["latency_ms"],
        ttft_ms=row["ttft_ms"],
        billed_input_tokens=row["billed_input_tokens"],
        cost=row["cost"],
    )


async def hold_rollup_off(conn: AsyncConnection) -> None:
    """Before inserting events: on PostgreSQL, keep the rollup from reading until this
    transaction ends (see the module's docstring)."""
    if _postgresql(conn):
        await conn.execute(
            text("SELECT pg_advisory_xact_lock_shared(:key)"), {"key": LEDGER_LOCK_KEY}
        )


async def insert_events(conn: AsyncConnection, records: Sequence[UsageRecord]) -> int:
    """Insert the records, skipping any whose request id is already in (or earlier in the
    batch); how many were inserted. Call `hold_rollup_off` first in the transaction."""
    if not records:
        return 0
    rows = [event_values(r) for r in records]
    if _postgresql(conn):
        columns = tuple(list(column) for column in zip(*rows, strict=True))
        return int((await conn.exec_driver_sql(POSTGRESQL_INSERT_EVENTS, columns)).rowcount)
    inserted = 0
    for start in range(0, len(rows), SQLITE_ROWS_PER_INSERT):
        chunk = rows[start : start + SQLITE_ROWS_PER_INSERT]
        flat = tuple(itertools.chain.from_iterable(chunk))
        result = await conn.exec_driver_sql(sqlite_insert_events(len(chunk)), flat)
        inserted += result.rowcount
    return inserted


async def get_events(conn: AsyncConnection, request_ids: Sequence[str]) -> list[UsageRecord]:
    result = await conn.execute(select(e).where(e.c.request_id.in_(request_ids)).order_by(e.c.seq))
    return [record_from_row(row) for row in result.mappings()]


async def read_mark(conn: AsyncConnection, *, for_update: bool = False) -> int:
    """The highest seq rolled up (0 before the first rollup)."""
    query = select(rollup_marks.c.seq).where(rollup_marks.c.name == MARK)
    if for_update:
        query = query.with_for_update()
    mark = (await conn.execute(query)).scalar()
    return int(mark) if mark is not None else 0


def _sums(table: Table) -> list[ColumnElement[Any]]:
    """A query's sums (SUMS) over `usage_hourly`, or the same over `usage_events`."""
    # an hourly row counts `requests` requests of one status; an event counts one
    requests: ColumnElement[Any] = func.sum(h.c.requests) if table is h else func.count()
    each = h.c.requests if table is h else 1
    failed = case((table.c.status != OK, each), else_=0)
    return [
        requests.label("requests"),
        func.sum(failed).label("errors"),
        *(func.sum(table.c[name]).label(name) for name in SUMS[2:]),
    ]


def _numbers(row: RowMapping) -> dict[str, int | float]:
    """A row's sums as ints and floats (PostgreSQL sums bigints into NUMERIC)."""
    numbers: dict[str, int | float] = {name: int(row[name] or 0) for name in COUNTS}
    numbers.update({name: float(row[name] or 0.0) for name in AMOUNTS})
    return numbers


async def roll_up(conn: AsyncConnection, *, max_events: int) -> int:
    """Add up to `max_events` events above the mark into their hourly rows (adding to rows
    already there) and move the mark past them; how many events were rolled up."""
    if max_events < 1:
        raise ValueError("max_events must be positive")
    if _postgresql(conn):
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LEDGER_LOCK_KEY})
    await conn.execute(
        _insert(conn, rollup_marks)
        .values(name=MARK, seq=0)
        .on_conflict_do_nothing(index_elements=[rollup_marks.c.name])
    )
    mark = await read_mark(conn, for_update=True)
    window = select(e.c.seq).where(e.c.seq > mark).order_by(e.c.seq).limit(max_events).subquery()
    upper, taken = (
        await conn.execute(select(func.max(window.c.seq), func.count()).select_from(window))
    ).one()
    if not taken:
        return 0
    hour = ((e.c.created_at // HOUR_MS) * 3600).label("hour")
    groups = [hour, *(e.c[k] for k in KEY[1:])]
    result = await conn.execute(
        select(*groups, *_sums(e)).where(e.c.seq > mark, e.c.seq <= upper).group_by(*groups)
    )
    rows = []
    for row in result.mappings():
        numbers = _numbers(row)
        rows.append({**{k: row[k] for k in KEY}, **{name: numbers[name] for name in HOURLY_SUMS}})
    stmt = _insert(conn, h)
    stmt = stmt.on_conflict_do_update(
        index_elements=[h.c[k] for k in KEY],
        set_={name: h.c[name] + stmt.excluded[name] for name in HOURLY_SUMS},
    )
    await conn.execute(stmt, rows)
    await conn.execute(
        update(rollup_marks).where(rollup_marks.c.name == MARK).values(seq=int(upper))
    )
    return int(taken)


async def purge(conn: AsyncConnection, before_ms: int) -> int:
    """Delete the rolled-up events created before `before_ms` and the hourly rows of hours
    that ended by then; how many rows went, of both."""
    mark = await read_mark(conn)
    events = await conn.execute(delete(e).where(e.c.created_at < before_ms, e.c.seq < mark))
    hours = await conn.execute(delete(h).where(h.c.hour + 3600 <= before_ms // 1000))
    return events.rowcount + hours.rowcount


@dataclass(frozen=True, slots=True)
class UsageQuery:
    start: int
    end: int | None = None
    width: BucketWidth = "1d"
    group_by: tuple[GroupField, ...] = ()
    workspaces: tuple[str, ...] | None = None
    key_ids: tuple[str, ...] | None = None
    models: tuple[str, ...] | None = None
    limit: int | None = None

    def checked(self) -> UsageQuery:
        if self.width not in BUCKET_SECONDS:
            raise ValueError(f"bucket width must be one of {sorted(BUCKET_SECONDS)}")
        unknown = set(self.group_by) - set(GROUP_FIELDS)
        if unknown:
            raise ValueError(f"cannot group by {sorted(unknown)}")
        if self.limit is not None and self.limit < 1:
            raise ValueError("limit must be positive")
        # One order for the grouped fields, whatever order they were asked in.
        return replace(self, group_by=tuple(f for f in GROUP_FIELDS if f in self.group_by))


def _filtered(query: Select[Any], table: Table, q: UsageQuery) -> Select[Any]:
    for column, values in (
        ("workspace", q.workspaces),
        ("key_id", q.key_ids),
        ("model", q.models),
    ):
        if values is not None:
            query = query.where(table.c[column].in_(values))
    return query


def _grouped(
    table: Table, bucket: ColumnElement[Any], q: UsageQuery, where: Iterable[ColumnElement[bool]]
) -> Select[Any]:
    groups = [bucket.label("bucket"), *(table.c[f] for f in q.group_by)]
    query = select(*groups, *_sums(table)).where(*where)
    return _filtered(query, table, q).group_by(*groups)


async def buckets(conn: AsyncConnection, query: UsageQuery) -> UsagePage:
    """The usage in `query`'s buckets, from the hourly rows plus the events not rolled up
    yet (read in the caller's one snapshot, so each event counts once). Buckets sit on
    the width's UTC boundaries: `start` is rounded down to one, and a bucket is in when it
    begins before `end`. Every bucket is listed, empty ones too, up to `limit`."""
    q = query.checked()
    width = BUCKET_SECONDS[q.width]
    limit = q.limit or DEFAULT_LIMITS[q.width]
    first = q.start // width * width
    stop = first + limit * width
    has_more = False
    if q.end is not None:
        whole = -(-q.end // width) * width  # the end, rounded up to a bucket boundary
        has_more = whole > stop
        stop = min(stop, whole)
    mark = await read_mark(conn)
    hourly = _grouped(h, h.c.hour // width * width, q, [h.c.hour >= first, h.c.hour < stop])
    recent = _grouped(
        e,
        e.c.created_at // (width * 1000) * width,
        q,
        [e.c.seq > mark, e.c.created_at >= first * 1000, e.c.created_at < stop * 1000],
    )
    totals: dict[tuple[Any, ...], dict[str, int | float]] = {}
    for part in (hourly, recent):
        for row in (await conn.execute(part)).mappings():
            key = (int(row["bucket"]), *(row[f] for f in q.group_by))
            sums = totals.setdefault(key, dict.fromkeys(SUMS, 0))
            for name, value in _numbers(row).items():
                sums[name] += value
    if q.end is None:
        has_more = await _used_since(conn, q, stop, mark)
    by_bucket: dict[int, list[UsageTotals]] = {}
    for key in sorted(totals):
        bucket, *group = key
        by_bucket.setdefault(bucket, []).append(_totals(q.group_by, group, totals[key]))
    page = tuple(
        UsageBucket(start, start + width, tuple(by_bucket.get(start, ())))
        for start in range(first, stop, width)
    )
    return UsagePage(page, has_more=has_more, next_start=stop if has_more else None)


def _totals(
    group_by: Sequence[GroupField], group: Sequence[Any], sums: Mapping[str, int | float]
) -> UsageTotals:
    fields = dict(zip(group_by, group, strict=True))
    return UsageTotals(
        workspace=fields.get("workspace"),
        key_id=fields.get("key_id"),
        model=fields.get("model"),
        api=fields.get("api"),
        status=fields.get("status"),
        requests=int(sums["requests"]),
        errors=int(sums["errors"]),
        input_tokens=int(sums["input_tokens"]),
        output_tokens=int(sums["output_tokens"]),
        reasoning_tokens=int(sums["reasoning_tokens"]),
        cached_tokens=int(sums["cached_tokens"]),
        cache_creation_tokens=int(sums["cache_creation_tokens"]),
        billed_input_tokens=float(sums["billed_input_tokens"]),
        cost=float(sums["cost"]),
    )


async def _used_since(conn: AsyncConnection, q: UsageQuery, since: int, mark: int) -> bool:
    """Whether the query's filters match any usage at or after `since` (s)."""
    hourly = _filtered(select(h.c.hour).where(h.c.hour >= since), h, q)
    recent = _filtered(select(e.c.seq).where(e.c.seq > mark, e.c.created_at >= since * 1000), e, q)
    found = await conn.execute(select(exists(hourly) | exists(recent)))
    return bool(found.scalar())
