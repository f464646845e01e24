"""Queries on the files attached to vector stores, their batches, and the ingestion
worker's leases. Each runs inside the caller's transaction; the caller has checked that
the store belongs to the workspace."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from openscope.core.knowledge import (
    Attributes,
    ChunkingStrategy,
    FileBatch,
    FileStatus,
    IngestError,
    VectorStoreFile,
)
from openscope.core.state import Order
from openscope.store.knowledge.paging import page_rows
from openscope.store.knowledge.records import (
    EmbedderMark,
    counts_of,
    store_file_from_row,
)
from openscope.store.tables import file_batches, vector_store_files, vector_stores

vsf = vector_store_files
IN_PROGRESS = FileStatus.IN_PROGRESS.value
# Claims of a file whose worker neither finished nor gave it back (the process died,
# perhaps of this very file) before the file is failed instead of claimed again.
MAX_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class Claim:
    """A file the ingestion worker holds until `lease` (epoch seconds). The lease is also
    the claim's token: a later claim of the same file has a later lease, so a worker whose
    lease ran out can no longer finish it."""

    store_id: str
    file_id: str
    workspace: str
    chunking: ChunkingStrategy
    embedder: EmbedderMark
    lease: int


def _one(store_id: str, file_id: str) -> ColumnElement[bool]:
    return and_(vsf.c.store_id == store_id, vsf.c.file_id == file_id)


async def attach_files(
    conn: AsyncConnection,
    store_id: str,
    files: Sequence[tuple[str, Attributes]],
    chunking: ChunkingStrategy,
    *,
    batch_id: str | None,
    now: int,
) -> None:
    """Attach files to the store, to be ingested; a file attached already starts over
    with the new attributes and chunking."""
    ids = [file_id for file_id, _ in files]
    await conn.execute(delete(vsf).where(vsf.c.store_id == store_id, vsf.c.file_id.in_(ids)))
    await conn.execute(
        insert(vsf),
        [
            {
                "store_id": store_id,
                "file_id": file_id,
                "created_at": now,
                "status": IN_PROGRESS,
                "attributes": dict(attributes),
                "max_chunk_size_tokens": chunking.max_chunk_size_tokens,
                "chunk_overlap_tokens": chunking.chunk_overlap_tokens,
                "usage_bytes": 0,
                "last_error_code": None,
                "last_error_message": None,
                "batch_id": batch_id,
                "claimed_until": None,
                "attempts": 0,
            }
            for file_id, attributes in files
        ],
    )


async def get_store_file(
    conn: AsyncConnection, store_id: str, file_id: str
) -> VectorStoreFile | None:
    result = await conn.execute(select(vsf).where(_one(store_id, file_id)))
    row = result.mappings().first()
    return store_file_from_row(row) if row is not None else None


async def set_attributes(
    conn: AsyncConnection, store_id: str, file_id: str, attributes: Attributes
) -> bool:
    result = await conn.execute(
        update(vsf).where(_one(store_id, file_id)).values(attributes=dict(attributes))
    )
    return result.rowcount > 0


async def detach_file(conn: AsyncConnection, store_id: str, file_id: str) -> bool:
    result = await conn.execute(delete(vsf).where(_one(store_id, file_id)))
    return result.rowcount > 0


async def stores_holding(conn: AsyncConnection, file_id: str) -> list[str]:
    result = await conn.execute(select(vsf.c.store_id).where(vsf.c.file_id == file_id))
    return list(result.scalars())


async def detach_everywhere(conn: AsyncConnection, file_id: str) -> None:
    await conn.execute(delete(vsf).where(vsf.c.file_id == file_id))


async def list_store_files(
    conn: AsyncConnection,
    store_id: str,
    *,
    status: FileStatus | None,
    batch_id: str | None,
    limit: int,
    order: Order,
    after: str | None,
    before: str | None,
) -> tuple[list[VectorStoreFile], bool]:
    where = [vsf.c.store_id == store_id]
    if status is not None:
        where.append(vsf.c.status == status.value)
    if batch_id is not None:
        where.append(vsf.c.batch_id == batch_id)
    rows, has_more = await page_rows(
        conn,
        vsf,
        where,
        id_column=vsf.c.file_id,
        limit=limit,
        order=order,
        after=after,
        before=before,
    )
    return [store_file_from_row(row) for row in rows], has_more


async def completed_files(
    conn: AsyncConnection, store_ids: Sequence[str]
) -> list[tuple[str, str, Attributes]]:
    """(store id, file id, attributes) of every searchable file of the stores."""
    result = await conn.execute(
        select(vsf.c.store_id, vsf.c.file_id, vsf.c.attributes).where(
            vsf.c.store_id.in_(list(store_ids)), vsf.c.status == FileStatus.COMPLETED.value
        )
    )
    return [(store_id, file_id, dict(attrs)) for store_id, file_id, attrs in result]


# Batches


async def insert_batch(conn: AsyncConnection, batch_id: str, store_id: str, now: int) -> None:
    await conn.execute(
        insert(file_batches),
        [{"id": batch_id, "store_id": store_id, "created_at": now, "cancelled": False}],
    )


async def get_batch(conn: AsyncConnection, store_id: str, batch_id: str) -> FileBatch | None:
    result = await conn.execute(
        select(file_batches).where(
            file_batches.c.id == batch_id, file_batches.c.store_id == store_id
        )
    )
    row = result.mappings().first()
    if row is None:
        return None
    counted = await conn.execute(
        select(vsf.c.status, func.count())
        .where(vsf.c.store_id == store_id, vsf.c.batch_id == batch_id)
        .group_by(vsf.c.status)
    )
    counts = counts_of({status: count for status, count in counted})
    if counts.in_progress:
        status = FileStatus.IN_PROGRESS
    elif row["cancelled"]:
        status = FileStatus.CANCELLED
    elif counts.total and counts.failed == counts.total:
        status = FileStatus.FAILED
    else:
        status = FileStatus.COMPLETED
    return FileBatch(
        id=batch_id,
        vector_store_id=store_id,
        created_at=row["created_at"],
        status=status,
        file_counts=counts,
    )


async def cancel_batch(conn: AsyncConnection, store_id: str, batch_id: str) -> None:
    """Mark the batch cancelled and its files not ingested yet cancelled (a worker
    holding one finds it no longer in progress and drops its work)."""
    await conn.execute(
        update(file_batches).where(file_batches.c.id == batch_id).values(cancelled=True)
    )
    await conn.execute(
        update(vsf)
        .where(vsf.c.store_id == store_id, vsf.c.batch_id == batch_id, vsf.c.status == IN_PROGRESS)
        .values(status=FileStatus.CANCELLED.value, claimed_until=None)
    )


# The ingestion worker's leases


async def claim_files(
    conn: AsyncConnection,
    now: int,
    lease_seconds: int,
    limit: int,
    *,
    max_attempts: int = MAX_ATTEMPTS,
) -> list[Claim]:
    """Claim up to `limit` files in progress whose lease is free or ran out, until
    now + lease_seconds (a lease always moves forward, see `Claim`). A file claimed
    `max_attempts` times already without its worker finishing or releasing it is failed
    instead: its ingestion keeps killing the server (out of memory, say)."""
    free = or_(vsf.c.claimed_until.is_(None), vsf.c.claimed_until < now)
    query: Any = (
        select(
            vsf.c.store_id,
            vsf.c.file_id,
            vsf.c.claimed_until,
            vsf.c.attempts,
            vsf.c.max_chunk_size_tokens,
            vsf.c.chunk_overlap_tokens,
            vector_stores.c.workspace,
            vector_stores.c.embedder_model,
            vector_stores.c.embedder_dims,
        )
        .join(vector_stores, vector_stores.c.id == vsf.c.store_id)
        .where(vsf.c.status == IN_PROGRESS, free)
        .order_by(vsf.c.created_at)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        # replicas claiming at once each take different rows instead of waiting
        query = query.with_for_update(of=vsf, skip_locked=True)
    rows = (await conn.execute(query)).mappings().all()
    claims = []
    for row in rows:
        one = _one(row["store_id"], row["file_id"])
        if row["attempts"] >= max_attempts:
            await conn.execute(
                update(vsf)
                .where(one)
                .values(
                    status=FileStatus.FAILED.value,
                    last_error_code=IngestError.SERVER_ERROR.value,
                    last_error_message=(
                        f"ingestion stopped unfinished {row['attempts']} times (the server "
                        "ran out of time or memory on this file); it was given up"
                    ),
                    claimed_until=None,
                )
            )
            continue
        lease = max(now + lease_seconds, (row["claimed_until"] or 0) + 1)
        await conn.execute(
            update(vsf).where(one).values(claimed_until=lease, attempts=vsf.c.attempts + 1)
        )
        claims.append(
            Claim(
                store_id=row["store_id"],
                file_id=row["file_id"],
                workspace=row["workspace"],
                chunking=ChunkingStrategy(
                    row["max_chunk_size_tokens"], row["chunk_overlap_tokens"]
                ),
                embedder=EmbedderMark(row["embedder_model"], row["embedder_dims"]),
                lease=lease,
            )
        )
    return claims


def _held(claim: Claim) -> ColumnElement[bool]:
    return and_(
        _one(claim.store_id, claim.file_id),
        vsf.c.status == IN_PROGRESS,
        vsf.c.claimed_until == claim.lease,
    )


async def holds(conn: AsyncConnection, claim: Claim) -> bool:
    result = await conn.execute(select(vsf.c.file_id).where(_held(claim)).with_for_update())
    return result.first() is not None


async def renew(conn: AsyncConnection, claim: Claim, lease: int) -> bool:
    result = await conn.execute(update(vsf).where(_held(claim)).values(claimed_until=lease))
    return result.rowcount > 0


async def release(conn: AsyncConnection, claim: Claim) -> bool:
    """Give the file back, still in progress, for any worker to claim at once; the claim
    does not count as an attempt (the worker stopped, the file did not stop it)."""
    result = await conn.execute(
        update(vsf)
        .where(_held(claim))
        .values(claimed_until=None, attempts=vsf.c.attempts - 1)  # held: claimed, so >= 1
    )
    return result.rowcount > 0


async def complete(conn: AsyncConnection, claim: Claim, usage_bytes: int) -> bool:
    result = await conn.execute(
        update(vsf)
        .where(_held(claim))
        .values(status=FileStatus.COMPLETED.value, usage_bytes=usage_bytes, claimed_until=None)
    )
    return result.rowcount > 0


async def fail(conn: AsyncConnection, claim: Claim, code: IngestError, message: str) -> bool:
    result = await conn.execute(
        update(vsf)
        .where(_held(claim))
        .values(
            status=FileStatus.FAILED.value,
            last_error_code=code.value,
            last_error_message=message,
            claimed_until=None,
        )
    )
    return result.rowcount > 0
