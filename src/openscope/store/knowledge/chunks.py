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
    if not texts:
        return []
    # one executemany, sent as multi-row INSERT ... RETURNING statements (SQLAlchemy's
    # "insertmanyvalues"): a file of thousands of chunks holds SQLite's write lock for a
    # few statements, not a round trip a row. Such a RETURNING promises no order on
    # SQLite, so each id comes back with its position.
    result = await conn.execute(
        insert(chunks).returning(chunks.c.position, chunks.c.id),
        [
            {
                "store_id": store_id,
                "file_id": file_id,
                "position": position,
                "text": text,
                "tokens": tokens,
            }
            for position, (text, tokens) in enumerate(texts)
        ],
    )
    ids = {int(position): int(i) for position, i in result}
    return [ids[position] for position in range(len(texts))]


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


async def delete_files_chunks(
    conn: AsyncConnection, store_id: str, file_ids: Sequence[str]
) -> list[int]:
    """Delete the chunks of these files in the store; the ids they had."""
    if not file_ids:
        return []
    where = (chunks.c.store_id == store_id, chunks.c.file_id.in_(list(file_ids)))
    ids = [int(i) for i in (await conn.execute(select(chunks.c.id).where(*where))).scalars()]
    if ids:
        await conn.execute(delete(chunks).where(*where))
    return ids


async def delete_file_chunk_ids(
    conn: AsyncConnection, store_id: str, file_id: str, ids: Sequence[int]
) -> None:
    """Delete those of the chunks `ids` that are the file's in the store (never another
    file's, whatever the ids)."""
    if ids:
        await conn.execute(
            delete(chunks).where(
                chunks.c.store_id == store_id,
                chunks.c.file_id == file_id,
                chunks.c.id.in_(list(ids)),
            )
        )


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
