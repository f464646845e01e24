"""Queries on uploaded files. Each runs inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from openscope.core.knowledge import StoredFile
from openscope.core.state import Order
from openscope.store.knowledge.paging import page_rows
from openscope.store.knowledge.records import file_from_row, file_row
from openscope.store.tables import files


async def insert_file(conn: AsyncConnection, file: StoredFile) -> None:
    await conn.execute(insert(files), [file_row(file)])


async def workspace_holdings(conn: AsyncConnection, workspace: str) -> tuple[int, int]:
    """The files a workspace keeps, and their bytes in all."""
    result = await conn.execute(
        select(func.count(), func.coalesce(func.sum(files.c.bytes), 0)).where(
            files.c.workspace == workspace
        )
    )
    count, total = result.one()
    return int(count), int(total)


async def get_file(
    conn: AsyncConnection, workspace: str, file_id: str, *, lock: bool = False
) -> StoredFile | None:
    """The file; with `lock`, its row locked until the transaction ends (PostgreSQL: a
    concurrent delete waits, or is waited for and then seen)."""
    query = select(files).where(files.c.id == file_id, files.c.workspace == workspace)
    if lock:
        query = query.with_for_update()
    result = await conn.execute(query)
    row = result.mappings().first()
    return file_from_row(row) if row is not None else None


async def list_files(
    conn: AsyncConnection,
    workspace: str,
    *,
    purpose: str | None,
    limit: int,
    order: Order,
    after: str | None,
) -> tuple[list[StoredFile], bool]:
    where = [files.c.workspace == workspace]
    if purpose is not None:
        where.append(files.c.purpose == purpose)
    rows, has_more = await page_rows(
        conn, files, where, id_column=files.c.id, limit=limit, order=order, after=after, before=None
    )
    return [file_from_row(row) for row in rows], has_more


async def delete_file(conn: AsyncConnection, workspace: str, file_id: str) -> bool:
    result = await conn.execute(
        delete(files).where(files.c.id == file_id, files.c.workspace == workspace)
    )
    return result.rowcount > 0


async def expired_files(conn: AsyncConnection, now: int, limit: int) -> list[StoredFile]:
    result = await conn.execute(
        select(files)
        .where(files.c.expires_at.is_not(None), files.c.expires_at <= now)
        .order_by(files.c.expires_at)
        .limit(limit)
    )
    return [file_from_row(row) for row in result.mappings()]


async def filenames(conn: AsyncConnection, file_ids: Sequence[str]) -> dict[str, str]:
    if not file_ids:
        return {}
    result = await conn.execute(
        select(files.c.id, files.c.filename).where(files.c.id.in_(list(file_ids)))
    )
    return {file_id: name for file_id, name in result}
