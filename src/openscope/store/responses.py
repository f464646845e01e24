"""Queries on stored responses and their items. Each function runs inside the caller's
transaction; the `Store` decides where transactions begin and end."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import CTE, ColumnElement, RowMapping, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from openscope.core.codec import item_from_dict
from openscope.core.state import Item, Order, Page, StoredResponse
from openscope.store.records import response_from_row, response_item_rows, response_row
from openscope.store.tables import INPUT, response_items, responses


async def insert_response(conn: AsyncConnection, record: StoredResponse) -> None:
    await conn.execute(insert(responses), [response_row(record)])
    rows = response_item_rows(record)
    if rows:
        await conn.execute(insert(response_items), rows)


def _chain(start: str, workspace: str, *, now: int | None) -> CTE:
    """`start` and its ancestors (id, previous_response_id) in `workspace`, in no particular
    order. UNION (not UNION ALL) ends the recursion even on a (corrupt) cycle. With `now`,
    the walk stops at the first expired response."""
    r = responses
    anchor = select(r.c.id, r.c.previous_response_id).where(
        r.c.id == start, r.c.workspace == workspace
    )
    if now is not None:
        anchor = anchor.where(r.c.expires_at > now)
    chain = anchor.cte("chain", recursive=True)
    step = (
        select(r.c.id, r.c.previous_response_id)
        .join(chain, r.c.id == chain.c.previous_response_id)
        .where(r.c.workspace == workspace)
    )
    if now is not None:
        step = step.where(r.c.expires_at > now)
    return chain.union(step)


async def extend_chain(conn: AsyncConnection, start: str, workspace: str, expires_at: int) -> None:
    """Raise `start`'s and its ancestors' expiry to at least `expires_at`."""
    chain = _chain(start, workspace, now=None)
    await conn.execute(
        update(responses)
        .where(responses.c.id.in_(select(chain.c.id)), responses.c.expires_at < expires_at)
        .values(expires_at=expires_at)
    )


async def _items(
    conn: AsyncConnection, where: ColumnElement[bool]
) -> dict[str, tuple[list[Item], list[Item]]]:
    """Input and output items of the responses `where` selects, by response id."""
    ri = response_items
    result = await conn.execute(
        select(ri.c.response_id, ri.c.kind, ri.c.item)
        .where(where)
        .order_by(ri.c.response_id, ri.c.kind, ri.c.position)
    )
    grouped: dict[str, tuple[list[Item], list[Item]]] = {}
    for response_id, kind, data in result:
        inputs, outputs = grouped.setdefault(response_id, ([], []))
        (inputs if kind == INPUT else outputs).append(item_from_dict(data))
    return grouped


def _record(row: RowMapping, items: dict[str, tuple[list[Item], list[Item]]]) -> StoredResponse:
    inputs, outputs = items.get(row["id"], ([], []))
    return response_from_row(row, inputs, outputs)


async def get_response(
    conn: AsyncConnection, response_id: str, workspace: str, now: int
) -> StoredResponse | None:
    r = responses
    result = await conn.execute(
        select(r).where(r.c.id == response_id, r.c.workspace == workspace, r.c.expires_at > now)
    )
    row = result.mappings().first()
    if row is None:
        return None
    return _record(row, await _items(conn, response_items.c.response_id == response_id))


async def response_chain(
    conn: AsyncConnection, response_id: str, workspace: str, now: int
) -> list[StoredResponse] | None:
    chain = _chain(response_id, workspace, now=now)
    result = await conn.execute(select(responses).where(responses.c.id.in_(select(chain.c.id))))
    rows = {row["id"]: row for row in result.mappings()}
    if response_id not in rows:
        return None
    items = await _items(conn, response_items.c.response_id.in_(select(chain.c.id)))
    newest_first: list[StoredResponse] = []
    current: str | None = response_id
    seen: set[str] = set()
    while current is not None and current in rows and current not in seen:
        seen.add(current)
        newest_first.append(_record(rows[current], items))
        current = rows[current]["previous_response_id"]
    return newest_first[::-1]


async def list_input_items(
    conn: AsyncConnection, response_id: str, *, limit: int, order: Order, after: str | None
) -> Page:
    if limit < 0:
        raise ValueError("limit must not be negative")
    ri = response_items
    where: list[ColumnElement[bool]] = [ri.c.response_id == response_id, ri.c.kind == INPUT]
    if after is not None:
        # An unknown cursor compares against NULL and so matches nothing: an empty page.
        cursor = ri.alias("cursor")
        position = (
            select(cursor.c.position)
            .where(
                cursor.c.response_id == response_id,
                cursor.c.kind == INPUT,
                cursor.c.item_id == after,
            )
            .order_by(cursor.c.position)
            .limit(1)
            .scalar_subquery()
        )
        where.append(ri.c.position > position if order == Order.ASC else ri.c.position < position)
    key = ri.c.position.asc() if order == Order.ASC else ri.c.position.desc()
    result = await conn.execute(select(ri.c.item).where(*where).order_by(key).limit(limit + 1))
    data: Sequence[Any] = result.scalars().all()
    return Page(tuple(item_from_dict(d) for d in data[:limit]), has_more=len(data) > limit)


async def delete_response(conn: AsyncConnection, response_id: str, workspace: str) -> bool:
    result = await conn.execute(
        delete(responses).where(responses.c.id == response_id, responses.c.workspace == workspace)
    )
    return result.rowcount > 0


async def purge_expired(conn: AsyncConnection, now: int) -> int:
    result = await conn.execute(delete(responses).where(responses.c.expires_at <= now))
    return result.rowcount
