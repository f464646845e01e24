"""The knowledge store: files, vector stores, the files attached to them, batches and
chunks, over the store's SQLAlchemy engine. Every method is one transaction, begun the way
`Store` begins them (BEGIN IMMEDIATE for writers on SQLite), and finishes even when its
caller is cancelled (see `store.transactions`). Everything is scoped by
workspace: another workspace's ids are unknown here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text as sql
from sqlalchemy.ext.asyncio import AsyncConnection

from openscope.core.errors import InvalidParameter, NotFound
from openscope.core.knowledge import (
    Attributes,
    ChunkingStrategy,
    FileBatch,
    FileStatus,
    IngestError,
    StoredFile,
    VectorStore,
    VectorStoreFile,
)
from openscope.core.state import Order
from openscope.store.knowledge import chunks as ch
from openscope.store.knowledge import files as fl
from openscope.store.knowledge import store_files as sf
from openscope.store.knowledge import vector_stores as vs
from openscope.store.knowledge.records import EmbedderMark, NewVectorStore, is_expired
from openscope.store.knowledge.store_files import Claim
from openscope.store.transactions import Transactional, finishes_even_if_cancelled

QUOTA_CODE = "storage_quota_exceeded"


@dataclass(frozen=True, slots=True)
class SearchableStore:
    """A store about to be searched: its embedder, whether it expired, when it was last
    used, and its completed files (file id -> attributes)."""

    id: str
    embedder: EmbedderMark
    expired: bool
    files: Mapping[str, Attributes]
    last_active_at: int

    def touch_due(self, now: int) -> bool:
        """Whether using it now should move its `last_active_at` (see `touch_stores`)."""
        return now - self.last_active_at >= vs.TOUCH_EVERY_SECONDS


@dataclass(frozen=True, slots=True)
class Attached:
    """Files attached to a store, and the ids of the chunks those attached before had
    (deleted with their old attachment: the caller takes them out of the index)."""

    files: list[VectorStoreFile]
    dropped_chunks: list[int]


class KnowledgeStore(Transactional):
    async def close(self, *, finish_timeout: float = 10.0) -> None:
        """Wait for the transactions cancelled callers left running (the engine is the
        store's: closing it is the store's business)."""
        await self.wait_for_cancelled(finish_timeout)

    # Files

    @finishes_even_if_cancelled
    async def add_file(
        self, file: StoredFile, *, max_files: int | None = None, max_bytes: int | None = None
    ) -> None:
        """Keep `file`, unless its workspace would then hold more than `max_files` files or
        `max_bytes` bytes (a 400, `storage_quota_exceeded`). The count and the insert are
        one transaction that excludes the workspace's other uploads (SQLite: one writer at
        a time; PostgreSQL: a lock on the workspace for the transaction)."""
        async with self._write() as conn:
            if max_files is not None or max_bytes is not None:
                if conn.dialect.name == "postgresql":
                    await conn.execute(
                        sql("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                        {"key": f"openscope-files:{file.workspace}"},
                    )
                count, total = await fl.workspace_holdings(conn, file.workspace)
                if max_files is not None and count + 1 > max_files:
                    raise InvalidParameter(
                        f"This workspace keeps {count} files, the most it may; delete some "
                        "before uploading more.",
                        param="file",
                        code=QUOTA_CODE,
                    )
                if max_bytes is not None and total + file.bytes > max_bytes:
                    raise InvalidParameter(
                        f"This workspace keeps {total} bytes of files; with this one it would "
                        f"pass its {max_bytes} bytes. Delete some before uploading more.",
                        param="file",
                        code=QUOTA_CODE,
                    )
            await fl.insert_file(conn, file)

    @finishes_even_if_cancelled
    async def get_file(self, workspace: str, file_id: str) -> StoredFile | None:
        async with self._read() as conn:
            return await fl.get_file(conn, workspace, file_id)

    @finishes_even_if_cancelled
    async def list_files(
        self, workspace: str, *, purpose: str | None, limit: int, order: Order, after: str | None
    ) -> tuple[list[StoredFile], bool]:
        async with self._read() as conn:
            return await fl.list_files(
                conn, workspace, purpose=purpose, limit=limit, order=order, after=after
            )

    @finishes_even_if_cancelled
    async def delete_file(self, workspace: str, file_id: str) -> list[int] | None:
        """Delete the file and take it out of every store holding it; the ids of the
        chunks it had (for the index), or None if the workspace has no such file."""
        async with self._write() as conn:
            if not await fl.delete_file(conn, workspace, file_id):
                return None
            removed: list[int] = []
            for store_id in await sf.stores_holding(conn, file_id):
                removed += await ch.delete_chunks(conn, store_id, file_id)
            await sf.detach_everywhere(conn, file_id)
            return removed

    @finishes_even_if_cancelled
    async def expired_files(self, now: int, limit: int) -> list[StoredFile]:
        async with self._read() as conn:
            return await fl.expired_files(conn, now, limit)

    # Vector stores

    @finishes_even_if_cancelled
    async def create_store(
        self,
        store: NewVectorStore,
        file_ids: Sequence[str],
        chunking: ChunkingStrategy,
        now: int,
    ) -> VectorStore:
        async with self._write() as conn:
            await _check_files(conn, store.workspace, file_ids, lock=True)
            await vs.insert_store(conn, store)
            if file_ids:
                files: list[tuple[str, Attributes]] = [(f, {}) for f in dict.fromkeys(file_ids)]
                await sf.attach_files(conn, store.id, files, chunking, batch_id=None, now=now)
            created = await vs.get_store(conn, store.workspace, store.id, now)
            assert created is not None
            return created

    @finishes_even_if_cancelled
    async def get_store(self, workspace: str, store_id: str, now: int) -> VectorStore | None:
        async with self._read() as conn:
            return await vs.get_store(conn, workspace, store_id, now)

    @finishes_even_if_cancelled
    async def store_embedder(self, workspace: str, store_id: str) -> EmbedderMark | None:
        async with self._read() as conn:
            row = await vs.store_row_of(conn, workspace, store_id)
            return None if row is None else vs.embedder_of(row)

    @finishes_even_if_cancelled
    async def update_store(
        self, workspace: str, store_id: str, values: Mapping[str, Any], now: int
    ) -> VectorStore | None:
        """Set the columns in `values` (name, metadata, expires_after_days); the store as
        it is then, or None if the workspace has no such store."""
        async with self._write() as conn:
            if not await vs.update_store(conn, workspace, store_id, values):
                return None
            return await vs.get_store(conn, workspace, store_id, now)

    @finishes_even_if_cancelled
    async def delete_store(self, workspace: str, store_id: str) -> bool:
        """Delete the store with its files' attachments, batches and chunks."""
        async with self._write() as conn:
            return await vs.delete_store(conn, workspace, store_id)

    @finishes_even_if_cancelled
    async def list_stores(
        self,
        workspace: str,
        *,
        limit: int,
        order: Order,
        after: str | None,
        before: str | None,
        now: int,
    ) -> tuple[list[VectorStore], bool]:
        async with self._read() as conn:
            return await vs.list_stores(
                conn, workspace, limit=limit, order=order, after=after, before=before, now=now
            )

    @finishes_even_if_cancelled
    async def touch_stores(self, store_ids: Sequence[str], now: int) -> None:
        """Mark the stores used now, unless they were within the last minute (a write on
        every search would queue searches behind SQLite's one writer)."""
        async with self._write() as conn:
            await vs.touch_stores(conn, store_ids, now)

    # Files in vector stores

    @finishes_even_if_cancelled
    async def attach_files(
        self,
        workspace: str,
        store_id: str,
        files: Sequence[tuple[str, Attributes]],
        chunking: ChunkingStrategy,
        *,
        batch_id: str | None,
        now: int,
    ) -> Attached:
        """Attach the workspace's files to its store, in progress (and, with `batch_id`,
        create that batch); a file attached already starts over, its old chunks deleted.
        Raises NotFound for a missing store or file."""
        async with self._write() as conn:
            await _owned_store(conn, workspace, store_id, lock=True)
            # locked: a file deleted meanwhile is either seen gone here, or waits for this
            # attachment and then takes it out again (no attachment outlives its file)
            await _check_files(conn, workspace, [file_id for file_id, _ in files], lock=True)
            await vs.touch_stores(conn, [store_id], now)
            if batch_id is not None:
                await sf.insert_batch(conn, batch_id, store_id, now)
            unique = list(dict(files).items())
            dropped = await ch.delete_files_chunks(conn, store_id, [f for f, _ in unique])
            await sf.attach_files(conn, store_id, unique, chunking, batch_id=batch_id, now=now)
            attached = []
            for file_id, _ in unique:
                got = await sf.get_store_file(conn, store_id, file_id)
                assert got is not None
                attached.append(got)
            return Attached(attached, dropped)

    @finishes_even_if_cancelled
    async def get_store_file(
        self, workspace: str, store_id: str, file_id: str
    ) -> VectorStoreFile | None:
        async with self._read() as conn:
            if await vs.store_row_of(conn, workspace, store_id) is None:
                return None
            return await sf.get_store_file(conn, store_id, file_id)

    @finishes_even_if_cancelled
    async def set_attributes(
        self, workspace: str, store_id: str, file_id: str, attributes: Attributes
    ) -> VectorStoreFile | None:
        async with self._write() as conn:
            if await vs.store_row_of(conn, workspace, store_id) is None:
                return None
            if not await sf.set_attributes(conn, store_id, file_id, attributes):
                return None
            return await sf.get_store_file(conn, store_id, file_id)

    @finishes_even_if_cancelled
    async def detach_file(self, workspace: str, store_id: str, file_id: str) -> list[int] | None:
        """Take the file out of the store; its chunk ids (for the index), or None if the
        store or the file in it is missing."""
        async with self._write() as conn:
            if await vs.store_row_of(conn, workspace, store_id) is None:
                return None
            if not await sf.detach_file(conn, store_id, file_id):
                return None
            return await ch.delete_chunks(conn, store_id, file_id)

    @finishes_even_if_cancelled
    async def list_store_files(
        self,
        workspace: str,
        store_id: str,
        *,
        status: FileStatus | None,
        batch_id: str | None,
        limit: int,
        order: Order,
        after: str | None,
        before: str | None,
    ) -> tuple[list[VectorStoreFile], bool]:
        async with self._read() as conn:
            await _owned_store(conn, workspace, store_id)
            if batch_id is not None and await sf.get_batch(conn, store_id, batch_id) is None:
                raise NotFound(f"No file batch found with id '{batch_id}'.")
            return await sf.list_store_files(
                conn,
                store_id,
                status=status,
                batch_id=batch_id,
                limit=limit,
                order=order,
                after=after,
                before=before,
            )

    @finishes_even_if_cancelled
    async def file_texts(
        self, workspace: str, store_id: str, file_id: str
    ) -> tuple[str, ...] | None:
        async with self._read() as conn:
            if await vs.store_row_of(conn, workspace, store_id) is None:
                return None
            if await sf.get_store_file(conn, store_id, file_id) is None:
                return None
            return await ch.file_texts(conn, store_id, file_id)

    @finishes_even_if_cancelled
    async def get_batch(self, workspace: str, store_id: str, batch_id: str) -> FileBatch | None:
        async with self._read() as conn:
            if await vs.store_row_of(conn, workspace, store_id) is None:
                return None
            return await sf.get_batch(conn, store_id, batch_id)

    @finishes_even_if_cancelled
    async def cancel_batch(self, workspace: str, store_id: str, batch_id: str) -> FileBatch | None:
        async with self._write() as conn:
            if await vs.store_row_of(conn, workspace, store_id) is None:
                return None
            if await sf.get_batch(conn, store_id, batch_id) is None:
                return None
            await sf.cancel_batch(conn, store_id, batch_id)
            return await sf.get_batch(conn, store_id, batch_id)

    # Search

    @finishes_even_if_cancelled
    async def searchable(
        self, workspace: str, store_ids: Sequence[str], now: int
    ) -> list[SearchableStore]:
        """The stores (in the order named) with their completed files; NotFound names the
        first store the workspace does not have."""
        async with self._read() as conn:
            rows = []
            for store_id in dict.fromkeys(store_ids):
                rows.append(await _owned_store(conn, workspace, store_id))
            files: dict[str, dict[str, Attributes]] = {row["id"]: {} for row in rows}
            for store_id, file_id, attributes in await sf.completed_files(conn, list(files)):
                files[store_id][file_id] = attributes
            return [
                SearchableStore(
                    id=row["id"],
                    embedder=vs.embedder_of(row),
                    expired=is_expired(row, now),
                    files=files[row["id"]],
                    last_active_at=row["last_active_at"],
                )
                for row in rows
            ]

    @finishes_even_if_cancelled
    async def chunks_by_id(self, ids: Sequence[int]) -> dict[int, tuple[str, str, str]]:
        async with self._read() as conn:
            return await ch.chunks_by_id(conn, ids)

    @finishes_even_if_cancelled
    async def filenames(self, file_ids: Sequence[str]) -> dict[str, str]:
        async with self._read() as conn:
            return await fl.filenames(conn, file_ids)

    # The ingestion worker

    @finishes_even_if_cancelled
    async def claim_files(
        self, now: int, lease_seconds: int, limit: int, *, max_attempts: int = sf.MAX_ATTEMPTS
    ) -> list[Claim]:
        """Claim files to ingest (see `store_files.claim_files`: a file claimed
        `max_attempts` times without finishing is failed instead)."""
        async with self._write() as conn:
            return await sf.claim_files(conn, now, lease_seconds, limit, max_attempts=max_attempts)

    @finishes_even_if_cancelled
    async def renew(self, claim: Claim, lease: int) -> bool:
        async with self._write() as conn:
            return await sf.renew(conn, claim, lease)

    @finishes_even_if_cancelled
    async def release(self, claim: Claim) -> bool:
        """Give a claimed file back (a stopping worker): False if it was no longer held."""
        async with self._write() as conn:
            return await sf.release(conn, claim)

    @finishes_even_if_cancelled
    async def replace_chunks(
        self, claim: Claim, texts: Sequence[tuple[str, int]]
    ) -> tuple[list[int], list[int]] | None:
        """Replace the claimed file's chunks with `texts` (text, tokens): (the old ids, the
        new ids), or None if the claim is no longer held (nothing changes)."""
        async with self._write() as conn:
            if not await sf.holds(conn, claim):
                return None
            old = await ch.delete_chunks(conn, claim.store_id, claim.file_id)
            new = await ch.insert_chunks(conn, claim.store_id, claim.file_id, texts)
            return old, new

    @finishes_even_if_cancelled
    async def clear_chunks(self, claim: Claim) -> list[int] | None:
        """Delete the claimed file's chunks (a retry starts clean); their ids, or None if
        the claim is no longer held."""
        async with self._write() as conn:
            if not await sf.holds(conn, claim):
                return None
            return await ch.delete_chunks(conn, claim.store_id, claim.file_id)

    @finishes_even_if_cancelled
    async def drop_chunks(self, claim: Claim, ids: Sequence[int]) -> None:
        """Delete those of the chunks `ids` that are still the claimed file's in its store
        (the work of a claim lost after its chunks were written)."""
        async with self._write() as conn:
            await ch.delete_file_chunk_ids(conn, claim.store_id, claim.file_id, ids)

    @finishes_even_if_cancelled
    async def complete(self, claim: Claim, usage_bytes: int) -> bool:
        async with self._write() as conn:
            return await sf.complete(conn, claim, usage_bytes)

    @finishes_even_if_cancelled
    async def fail(self, claim: Claim, code: IngestError, message: str) -> bool:
        async with self._write() as conn:
            return await sf.fail(conn, claim, code, message)


async def _owned_store(
    conn: AsyncConnection, workspace: str, store_id: str, *, lock: bool = False
) -> Any:
    row = await vs.store_row_of(conn, workspace, store_id, lock=lock)
    if row is None:
        raise NotFound(f"No vector store found with id '{store_id}'.")
    return row


async def _check_files(
    conn: AsyncConnection, workspace: str, file_ids: Sequence[str], *, lock: bool = False
) -> None:
    for file_id in dict.fromkeys(file_ids):
        if await fl.get_file(conn, workspace, file_id, lock=lock) is None:
            raise NotFound(f"No file found with id '{file_id}'.", param="file_id")
