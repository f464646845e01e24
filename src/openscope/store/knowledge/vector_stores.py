"""Queries on vector stores: their rows, and the file counts and usage read from the files
attached to them. Each runs inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from openscope.core.knowledge import VectorStore
from openscope.core.state import Order
from openscope.store.knowledge.paging import page_rows
from openscope.store.knowledge.records import (
    EmbedderMark,
    NewVectorStore,
    counts_of,
    store_from_row,
    store_row,
)
from openscope.store.tables import vector_store_files, vector_stores

vs = vector_stores
vsf = vector_store_files
# How stale a store's last_active_at may get before a use moves it.
TOUCH_EVERY_SECONDS = 60


async def insert_store(conn: AsyncConnection, store: NewVectorStore) -> None:
    await conn.execute(insert(vs), [store_row(store)])


async def store_row_of(
    conn: AsyncConnection, workspace: str, store_id: str, *, lock: bool = False
) -> RowMapping | None:
    query = select(vs).where(vs.c.id == store_id, vs.c.workspace == workspace)
    if lock:
        query = query.with_for_update()
    result = await conn.execute(query)
    return result.mappings().first()


async def get_store(
    conn: AsyncConnection, workspace: str, store_id: str, now: int
) -> VectorStore | None:
    row = await store_row_of(conn, workspace, store_id)
    if row is None:
        return None
    return (await with_counts(conn, [row], now))[0]


def embedder_of(row: RowMapping) -> EmbedderMark:
    return EmbedderMark(row["embedder_model"], row["embedder_dims"])


async def list_stores(
    conn: AsyncConnection,
    workspace: str,
    *,
    limit: int,
    order: Order,
    after: str | None,
    before: str | None,
    now: int,
) -> tuple[list[VectorStore], bool]:
    rows, has_more = await page_rows(
        conn,
        vs,
        [vs.c.workspace == workspace],
        id_column=vs.c.id,
        limit=limit,
        order=order,
        after=after,
        before=before,
    )
    return await with_counts(conn, rows, now), has_more


async def update_store(
    conn: AsyncConnection, workspace: str, store_id: str, values: Mapping[str, Any]
) -> bool:
    if not values:
        return await store_row_of(conn, workspace, store_id) is not None
    result = await conn.execute(
        update(vs).where(vs.c.id == store_id, vs.c.workspace == workspace).values(dict(values))
    )
    return result.rowcount > 0


async def touch_stores(conn: AsyncConnection, store_ids: Sequence[str], now: int) -> None:
    """Mark the stores used now (their expiry counts from their last use), those not
    marked within the last TOUCH_EVERY_SECONDS only: an expiry counted in days loses
    nothing, and a store searched all the time is not rewritten all the time."""
    if store_ids:
        await conn.execute(
            update(vs)
            .where(
                vs.c.id.in_(list(store_ids)),
                vs.c.last_active_at <= now - TOUCH_EVERY_SECONDS,
            )
            .values(last_active_at=now)
        )


async def delete_store(conn: AsyncConnection, workspace: str, store_id: str) -> bool:
    result = await conn.execute(delete(vs).where(vs.c.id == store_id, vs.c.workspace == workspace))
    return result.rowcount > 0


async def with_counts(
    conn: AsyncConnection, rows: Sequence[RowMapping], now: int
) -> list[VectorStore]:
    if not rows:
        return []
    ids = [row["id"] for row in rows]
    result = await conn.execute(
        select(vsf.c.store_id, vsf.c.status, func.count(), func.sum(vsf.c.usage_bytes))
        .where(vsf.c.store_id.in_(ids))
        .group_by(vsf.c.store_id, vsf.c.status)
    )
    statuses: dict[str, dict[str, int]] = {}
    usage: dict[str, int] = {}
    for store_id, status, count, used in result:
        statuses.setdefault(store_id, {})[status] = count
        usage[store_id] = usage.get(store_id, 0) + int(used or 0)
    return [
        store_from_row(row, counts_of(statuses.get(row["id"], {})), usage.get(row["id"], 0), now)
        for row in rows
    ]
