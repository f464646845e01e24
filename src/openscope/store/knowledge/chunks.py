"""Queries on the chunks of text the files of vector stores were cut into. Each runs inside
the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from openscope.store.tables import chunks


async def insert_chunks(
    conn: AsyncConnection, store_id: str, file_id: str, texts: Sequence[tuple[str, int]]
) -> list[int]:
    """Add the file's chunks (text, tokens) in order; their ids, in the same order."""
    ids = []
    # one row at a time: SQLite's RETURNING of a multi-row insert promises no order
    for position, (text, tokens) in enumerate(texts):
        result = await conn.execute(
            insert(chunks)
            .values(store_id=store_id, file_id=file_id, position=position, text=text, tokens=tokens)
            .returning(chunks.c.id)
        )
        ids.append(int(result.scalar_one()))
    return ids


async def chunk_ids(conn: AsyncConnection, store_id: str, file_id: str) -> list[int]:
    result = await conn.execute(
        select(chunks.c.id).where(chunks.c.store_id == store_id, chunks.c.file_id == file_id)
    )
    return [int(i) for i in result.scalars()]


async def delete_chunks(conn: AsyncConnection, store_id: str, file_id: str) -> list[int]:
    """Delete the file's chunks in the store; the ids they had."""
    ids = await chunk_ids(conn, store_id, file_id)
    if ids:
        await conn.execute(
            delete(chunks).where(chunks.c.store_id == store_id, chunks.c.file_id == file_id)
        )
    return ids


async def delete_chunk_ids(conn: AsyncConnection, ids: Sequence[int]) -> None:
    if ids:
        await conn.execute(delete(chunks).where(chunks.c.id.in_(list(ids))))


async def file_texts(conn: AsyncConnection, store_id: str, file_id: str) -> tuple[str, ...]:
    result = await conn.execute(
        select(chunks.c.text)
        .where(chunks.c.store_id == store_id, chunks.c.file_id == file_id)
        .order_by(chunks.c.position)
    )
    return tuple(result.scalars())


async def chunks_by_id(
    conn: AsyncConnection, ids: Sequence[int]
) -> dict[int, tuple[str, str, str]]:
    """id -> (store id, file id, text) of those chunks that still exist."""
    if not ids:
        return {}
    result = await conn.execute(
        select(chunks.c.id, chunks.c.store_id, chunks.c.file_id, chunks.c.text).where(
            chunks.c.id.in_(list(ids))
        )
    )
    return {int(i): (store_id, file_id, text) for i, store_id, file_id, text in result}
