"""The hourly rollup keeps requests per status: `status` joins the key of `usage_hourly`
(one row per hour, workspace, key, model, API and status) and `errors` goes, since a row's
status says whether its requests failed. The events (`usage_events`) stay as they are.

The rows already there keep their counts, with the statuses that can still be known:

- A row whose events are all still kept is rebuilt from them, one row per status: exact.
  The ledger purges events and hourly rows at the same age, so this is every row but those
  of the hour retention was cutting through. "All still kept": the events at or below the
  rollup's mark in the row's hour and group are as many, with as many tokens, as the row
  counted. Those events are exactly the ones it was added up from (an event at or below
  the mark was rolled up, into its own hour and group, once), so as many means the same.
- Any other row is split: `ok` gets requests - errors, and `failed_code_not_kept` the
  errors (failed, refused and cancelled requests whose code is gone). Tokens and cost
  cannot be split by status, so they stay with the `ok` row, or with the other when every
  request failed: a failed request mostly used few tokens, a refused one none.

Either way each old key's requests, errors (the requests not `ok`), tokens and cost are
exactly what they were (the rebuilt float sums up to rounding).

Rebuilding reads the events at or below the mark, so on PostgreSQL it first takes the
ledger's advisory lock exclusive, as the rollup does (the consistency rule in
store/usage.py): no insert is in flight below the mark, and no replica's rollup (which
takes that lock before it reads the mark) moves it meanwhile. SQLite's migration holds the
one writer's lock throughout. The mark is read inside each statement, so the migration also
runs offline (as an SQL script).

SQLite cannot change a primary key in place, so on both databases the old table is
renamed, the new one created and filled, and the old one dropped. Nothing refers to
`usage_hourly`, so no foreign key cascades (the reason 0002 avoided this for `responses`).
The downgrade adds each old key's rows back up, the requests not `ok` as its errors.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None

# As of this revision: migrations never import live code.
OK = "ok"
STATUS_NOT_KEPT = "failed_code_not_kept"
MARK = "usage_hourly"  # the rollup's row in rollup_marks
LEDGER_LOCK_KEY = 0x6F73_6C65_6467_6572  # the lock inserts take shared, the rollup exclusive
HOUR_MS = 3_600_000
OLD_TABLE = "usage_hourly_0004"  # the 0004 table while its rows move
NEW_TABLE = "usage_hourly_0005"  # the 0005 table while the downgrade moves its rows

GROUP = ("workspace", "key_id", "model", "api")
TOKENS = (
    "input_tokens",
    "output_tokens",
    "reasoning_tokens",
    "cached_tokens",
    "cache_creation_tokens",
)
AMOUNTS = ("billed_input_tokens", "cost")
SUMS = (*TOKENS, *AMOUNTS)  # the summed columns besides the request counts
KEY_0004 = ("hour", *GROUP)
KEY_0005 = (*KEY_0004, "status")


def _columns(*, with_status: bool) -> list[sa.Column[Any]]:
    status = [sa.Column("status", sa.String(), nullable=False)] if with_status else []
    errors = [] if with_status else [sa.Column("errors", sa.BigInteger(), nullable=False)]
    return [
        sa.Column("hour", sa.BigInteger(), nullable=False),
        *(sa.Column(name, sa.String(), nullable=False) for name in GROUP),
        *status,
        sa.Column("requests", sa.BigInteger(), nullable=False),
        *errors,
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in TOKENS),
        *(sa.Column(name, sa.Float(), nullable=False) for name in AMOUNTS),
    ]


def _create(*, with_status: bool) -> sa.Table:
    key = KEY_0005 if with_status else KEY_0004
    return op.create_table(
        "usage_hourly",
        *_columns(with_status=with_status),
        sa.PrimaryKeyConstraint(*key, name=op.f("pk_usage_hourly")),
    )


def _postgresql() -> bool:
    return bool(op.get_context().dialect.name == "postgresql")


def _set_aside(name: str, *, with_status: bool) -> sa.Table:
    """Rename `usage_hourly` to `name`; its primary key too, on PostgreSQL, where the
    name is its index's and would clash with the new table's."""
    op.rename_table("usage_hourly", name)
    if _postgresql():
        op.execute(f"ALTER TABLE {name} RENAME CONSTRAINT pk_usage_hourly TO pk_{name}")
    return sa.Table(name, sa.MetaData(), *_columns(with_status=with_status))


def _rolled_up_mark() -> sa.ColumnElement[Any]:
    """The rollup's mark (0 before the first rollup); read once `_hold_ledger` holds the
    inserts and the rollup off (see the docstring)."""
    marks = sa.table("rollup_marks", sa.column("name", sa.String), sa.column("seq", sa.BigInteger))
    mark = sa.select(marks.c.seq).where(marks.c.name == MARK).scalar_subquery()
    return sa.func.coalesce(mark, 0)


def _hold_ledger() -> None:
    """On PostgreSQL, the ledger's lock, taken before any table is touched: a rollup holds
    it while it writes `usage_hourly`, so renaming the table first (an exclusive lock) and
    then waiting for this one would deadlock with it."""
    if _postgresql():
        op.execute(f"SELECT pg_advisory_xact_lock({LEDGER_LOCK_KEY})")


def upgrade() -> None:
    _hold_ledger()
    mark = _rolled_up_mark()
    old = _set_aside(OLD_TABLE, with_status=False)
    new = _create(with_status=True)
    events = sa.table(
        "usage_events",
        sa.column("seq", sa.BigInteger),
        sa.column("created_at", sa.BigInteger),
        *(sa.column(name, sa.String) for name in (*GROUP, "status")),
        *(sa.column(name, sa.BigInteger) for name in TOKENS),
        *(sa.column(name, sa.Float) for name in AMOUNTS),
    )
    hour = (events.c.created_at // HOUR_MS * 3600).label("hour")

    def summed(*by: str) -> sa.Subquery:
        """The events rolled up (at or below the mark), summed per hour and `by`."""
        groups = [hour, *(events.c[name] for name in by)]
        return (
            sa.select(
                *groups,
                sa.func.count().label("requests"),
                *(sa.func.sum(events.c[name]).label(name) for name in SUMS),
            )
            .where(events.c.seq <= mark)
            .group_by(*groups)
        ).subquery()

    per_row, per_status = summed(*GROUP), summed(*GROUP, "status")
    # an old row whose events are all kept (see the docstring): its event sums match it
    kept = sa.and_(
        *(per_row.c[name] == old.c[name] for name in KEY_0004),
        *(per_row.c[name] == old.c[name] for name in ("requests", "input_tokens")),
        per_row.c.output_tokens == old.c.output_tokens,
    )
    names = [*KEY_0005, "requests", *SUMS]

    rebuilt = sa.select(*(per_status.c[name] for name in names)).select_from(
        per_status.join(old, sa.and_(*(per_status.c[k] == old.c[k] for k in KEY_0004))).join(
            per_row, kept
        )
    )
    op.execute(new.insert().from_select(names, rebuilt))

    unmatched = old.outerjoin(per_row, kept)
    not_kept = per_row.c.hour.is_(None)
    all_failed = old.c.errors >= old.c.requests
    succeeded = sa.select(
        *(old.c[name] for name in KEY_0004),
        sa.literal(OK).label("status"),
        (old.c.requests - old.c.errors).label("requests"),
        *(old.c[name] for name in SUMS),
    ).select_from(unmatched)
    op.execute(new.insert().from_select(names, succeeded.where(not_kept, ~all_failed)))
    failed = sa.select(
        *(old.c[name] for name in KEY_0004),
        sa.literal(STATUS_NOT_KEPT).label("status"),
        old.c.errors.label("requests"),
        *(sa.case((all_failed, old.c[name]), else_=0).label(name) for name in SUMS),
    ).select_from(unmatched)
    op.execute(new.insert().from_select(names, failed.where(not_kept, old.c.errors > 0)))
    op.drop_table(OLD_TABLE)


def downgrade() -> None:
    _hold_ledger()
    new = _set_aside(NEW_TABLE, with_status=True)
    old = _create(with_status=False)
    groups = [new.c[name] for name in KEY_0004]
    summed = sa.select(
        *groups,
        sa.func.sum(new.c.requests).label("requests"),
        sa.func.sum(sa.case((new.c.status != OK, new.c.requests), else_=0)).label("errors"),
        *(sa.func.sum(new.c[name]).label(name) for name in SUMS),
    ).group_by(*groups)
    op.execute(old.insert().from_select([*KEY_0004, "requests", "errors", *SUMS], summed))
    op.drop_table(NEW_TABLE)
