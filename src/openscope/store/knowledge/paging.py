"""Cursor pages over rows ordered by (created_at, id), as OpenAI's lists page: `after` and
`before` are the ids of rows already seen, and an unknown cursor gives an empty page."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.schema import Column, Table

from openscope.core.state import Order


async def page_rows(
    conn: AsyncConnection,
    table: Table,
    where: Sequence[ColumnElement[bool]],
    *,
    id_column: Column[Any],
    limit: int,
    order: Order,
    after: str | None,
    before: str | None,
) -> tuple[list[RowMapping], bool]:
    """At most `limit` rows of `table` matching `where` in `order`, after the row `after`
    and before the row `before`; and whether more follow in that order."""
    if limit < 0:
        raise ValueError("limit must not be negative")
    created = table.c.created_at
    conditions = list(where)
    for cursor, later in ((after, order == Order.ASC), (before, order == Order.DESC)):
        if cursor is None:
            continue
        # an unknown cursor's subquery is NULL: the comparison matches nothing
        mark = select(created).where(*where, id_column == cursor).scalar_subquery()
        conditions.append(_beyond(created, id_column, mark, cursor, later=later))
    ascending = order == Order.ASC
    # paging backwards from `before` alone takes the rows nearest to it, then restores order
    backwards = before is not None and after is None
    query: Select[Any] = select(table).where(and_(*conditions))
    key_ascending = ascending != backwards
    keys = (created.asc(), id_column.asc()) if key_ascending else (created.desc(), id_column.desc())
    result = await conn.execute(query.order_by(*keys).limit(limit + 1))
    rows = list(result.mappings().all())
    has_more = len(rows) > limit
    rows = rows[:limit]
    if backwards:
        rows.reverse()
    return rows, has_more


def _beyond(
    created: Column[Any], id_column: Column[Any], mark: Any, cursor: str, *, later: bool
) -> ColumnElement[bool]:
    if later:
        return or_(created > mark, and_(created == mark, id_column > cursor))
    return or_(created < mark, and_(created == mark, id_column < cursor))
