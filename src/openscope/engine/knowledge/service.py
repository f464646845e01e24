"""The knowledge service: the Files API, the Vector Stores API and the search the
`file_search` tool asks for (core.knowledge's FilesService, VectorStoresService and
KnowledgeSearch), over the knowledge store, a blob store, the chunk index and an embedder,
with the ingestion worker behind it. Everything is in the caller's workspace: another
workspace's ids are not found."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from openscope.core.errors import InvalidParameter, NotFound
from openscope.core.knowledge import (
    Attributes,
    ChunkingStrategy,
    Embedder,
    FileBatch,
    FileStatus,
    ListPage,
    SearchHit,
    SearchQuery,
    StoredFile,
    VectorStore,
    VectorStoreFile,
    file_batch_id,
    file_id,
    vector_store_id,
)
from openscope.core.principal import Principal
from openscope.core.state import Order
from openscope.engine.knowledge.ingest import IngestionWorker
from openscope.engine.knowledge.limits import KnowledgeLimits
from openscope.engine.knowledge.search import search_stores, searchable_stores
from openscope.store.knowledge import (
    BlobStore,
    ChunkIndex,
    EmbedderMark,
    KnowledgeStore,
    NewVectorStore,
    SearchMode,
)

log = logging.getLogger("openscope.knowledge")
# OpenAI's bound on a vector store's `expires_after.days`.
MAX_EXPIRY_DAYS = 365
# Expired files deleted per sweep transaction.
SWEEP_BATCH = 500


class KnowledgeService:
    def __init__(
        self,
        store: KnowledgeStore,
        blobs: BlobStore,
        index: ChunkIndex,
        embedder: Embedder,
        limits: KnowledgeLimits,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._blobs = blobs
        self._index = index
        self._embedder = embedder
        self._limits = limits
        self._clock = clock
        self._worker = IngestionWorker(store, blobs, index, embedder, limits, clock=clock)

    @property
    def worker(self) -> IngestionWorker:
        return self._worker

    async def start(self) -> None:
        """Open the blob store (raises BlobStoreUnavailable: a bucket that is missing or
        refuses the credentials) and the index (raises IndexUnavailable when it cannot run:
        PostgreSQL without pgvector), and start the ingestion worker, in the running event
        loop. Opening either twice is harmless."""
        await self._blobs.open()
        try:
            await self._index.open()
        except BaseException:
            await self._blobs.aclose()  # its connections: nobody calls aclose after this
            raise
        self._worker.start()

    async def aclose(self) -> None:
        """Stop the worker and close the index and the blob store (the store's engine is
        the store's)."""
        try:
            await self._worker.aclose()
            await self._store.close()
            await self._index.close()
        finally:
            await self._blobs.aclose()

    def _now(self) -> int:
        return int(self._clock())

    # Files

    async def upload(
        self,
        principal: Principal,
        filename: str,
        purpose: str,
        content: bytes,
        expires_after_seconds: int | None = None,
    ) -> StoredFile:
        if purpose not in self._limits.purposes:
            allowed = ", ".join(sorted(self._limits.purposes))
            raise InvalidParameter(
                f"Invalid purpose '{purpose}': expected one of {allowed}.", param="purpose"
            )
        if len(content) > self._limits.max_file_bytes:
            raise InvalidParameter(
                f"The file is {len(content)} bytes; at most {self._limits.max_file_bytes} "
                "are accepted.",
                param="file",
            )
        if not filename.strip():
            raise InvalidParameter("The file needs a name.", param="file")
        if expires_after_seconds is not None and expires_after_seconds <= 0:
            raise InvalidParameter(
                "expires_after.seconds must be positive.", param="expires_after.seconds"
            )
        keep = expires_after_seconds or self._limits.file_retention_seconds
        now = self._now()
        stored = StoredFile(
            id=file_id(),
            workspace=principal.workspace,
            filename=filename,
            purpose=purpose,
            bytes=len(content),
            created_at=now,
            expires_at=None if keep is None else now + keep,
        )
        await self._blobs.put(stored.id, content)
        try:
            await self._store.add_file(
                stored,
                max_files=self._limits.max_files_per_workspace,
                max_bytes=self._limits.max_bytes_per_workspace,
            )
        except BaseException:
            await self._blobs.delete(stored.id)
            raise
        return stored

    async def list_files(
        self,
        principal: Principal,
        *,
        purpose: str | None,
        limit: int,
        order: Order,
        after: str | None,
    ) -> ListPage:
        found, has_more = await self._store.list_files(
            principal.workspace, purpose=purpose, limit=limit, order=order, after=after
        )
        return ListPage(tuple(found), has_more)

    async def get_file(self, principal: Principal, file_id: str) -> StoredFile:
        found = await self._store.get_file(principal.workspace, file_id)
        if found is None:
            raise _no_file(file_id)
        return found

    async def file_content(self, principal: Principal, file_id: str) -> bytes:
        await self.get_file(principal, file_id)
        try:
            return await self._blobs.get(file_id)
        except KeyError:
            raise _no_file(file_id) from None

    async def delete_file(self, principal: Principal, file_id: str) -> None:
        """Delete the file, and take it out of every vector store holding it."""
        if not await self._delete_file(principal.workspace, file_id):
            raise _no_file(file_id)

    async def _delete_file(self, workspace: str, file_id: str) -> bool:
        chunk_ids = await self._store.delete_file(workspace, file_id)
        if chunk_ids is None:
            return False
        await self._index.remove(chunk_ids)
        await self._blobs.delete(file_id)
        return True

    async def sweep_expired_files(self) -> int:
        """Delete the files past their `expires_at` (every workspace's); how many. The
        server's chores call it now and then."""
        deleted = 0
        while True:
            expired = await self._store.expired_files(self._now(), SWEEP_BATCH)
            for file in expired:
                deleted += await self._delete_file(file.workspace, file.id)
            if len(expired) < SWEEP_BATCH:
                return deleted

    # Vector stores

    async def create_store(
        self,
        principal: Principal,
        *,
        name: str | None,
        description: str | None,
        metadata: Mapping[str, str],
        expires_after_days: int | None,
        file_ids: Sequence[str],
        chunking: ChunkingStrategy,
    ) -> VectorStore:
        _check_chunking(chunking)
        _check_days(expires_after_days)
        now = self._now()
        new = NewVectorStore(
            id=vector_store_id(),
            workspace=principal.workspace,
            name=name,
            description=description,
            metadata=dict(metadata),
            created_at=now,
            expires_after_days=expires_after_days,
            embedder=self._mark(),
        )
        created = await self._store.create_store(new, file_ids, chunking, now)
        if file_ids:
            self._worker.wake()
        return created

    async def get_store(self, principal: Principal, store_id: str) -> VectorStore:
        found = await self._store.get_store(principal.workspace, store_id, self._now())
        if found is None:
            raise _no_store(store_id)
        return found

    async def update_store(
        self,
        principal: Principal,
        store_id: str,
        *,
        name: str | None = None,
        metadata: Mapping[str, str] | None = None,
        expires_after_days: int | None = None,
        clear_expiry: bool = False,
    ) -> VectorStore:
        values: dict[str, Any] = {}
        if name is not None:
            values["name"] = name
        if metadata is not None:
            values["metadata"] = dict(metadata)
        if clear_expiry:
            if expires_after_days is not None:
                raise InvalidParameter(
                    "expires_after cannot be both set and cleared.", param="expires_after"
                )
            values["expires_after_days"] = None
        elif expires_after_days is not None:
            _check_days(expires_after_days)
            values["expires_after_days"] = expires_after_days
        updated = await self._store.update_store(principal.workspace, store_id, values, self._now())
        if updated is None:
            raise _no_store(store_id)
        return updated

    async def delete_store(self, principal: Principal, store_id: str) -> None:
        """Delete the store and its chunks (its files stay, as uploads)."""
        if not await self._store.delete_store(principal.workspace, store_id):
            raise _no_store(store_id)
        await self._index.remove_store(store_id)

    async def list_stores(
        self,
        principal: Principal,
        *,
        limit: int,
        order: Order,
        after: str | None,
        before: str | None,
    ) -> ListPage:
        found, has_more = await self._store.list_stores(
            principal.workspace,
            limit=limit,
            order=order,
            after=after,
            before=before,
            now=self._now(),
        )
        return ListPage(tuple(found), has_more)

    async def add_file(
        self,
        principal: Principal,
        store_id: str,
        file_id: str,
        *,
        attributes: Attributes,
        chunking: ChunkingStrategy,
    ) -> VectorStoreFile:
        _check_chunking(chunking)
        await self._check_embedder(principal.workspace, store_id)
        attached = await self._store.attach_files(
            principal.workspace,
            store_id,
            [(file_id, attributes)],
            chunking,
            batch_id=None,
            now=self._now(),
        )
        self._worker.wake()
        await self._index.remove(attached.dropped_chunks)  # a file attached before
        (added,) = attached.files
        return added

    async def get_store_file(
        self, principal: Principal, store_id: str, file_id: str
    ) -> VectorStoreFile:
        found = await self._store.get_store_file(principal.workspace, store_id, file_id)
        if found is None:
            raise _no_store_file(store_id, file_id)
        return found

    async def update_store_file(
        self, principal: Principal, store_id: str, file_id: str, attributes: Attributes
    ) -> VectorStoreFile:
        found = await self._store.set_attributes(principal.workspace, store_id, file_id, attributes)
        if found is None:
            raise _no_store_file(store_id, file_id)
        return found

    async def remove_file(self, principal: Principal, store_id: str, file_id: str) -> None:
        """Take the file out of the store (the upload stays)."""
        chunk_ids = await self._store.detach_file(principal.workspace, store_id, file_id)
        if chunk_ids is None:
            raise _no_store_file(store_id, file_id)
        await self._index.remove(chunk_ids)

    async def list_store_files(
        self,
        principal: Principal,
        store_id: str,
        *,
        status: FileStatus | None,
        batch_id: str | None,
        limit: int,
        order: Order,
        after: str | None,
        before: str | None,
    ) -> ListPage:
        found, has_more = await self._store.list_store_files(
            principal.workspace,
            store_id,
            status=status,
            batch_id=batch_id,
            limit=limit,
            order=order,
            after=after,
            before=before,
        )
        return ListPage(tuple(found), has_more)

    async def store_file_chunks(
        self, principal: Principal, store_id: str, file_id: str
    ) -> tuple[str, ...]:
        texts = await self._store.file_texts(principal.workspace, store_id, file_id)
        if texts is None:
            raise _no_store_file(store_id, file_id)
        return texts

    async def create_batch(
        self,
        principal: Principal,
        store_id: str,
        files: Sequence[tuple[str, Attributes]],
        chunking: ChunkingStrategy,
    ) -> FileBatch:
        _check_chunking(chunking)
        if not files:
            raise InvalidParameter("A file batch needs at least one file.", param="file_ids")
        await self._check_embedder(principal.workspace, store_id)
        batch_id = file_batch_id()
        attached = await self._store.attach_files(
            principal.workspace, store_id, files, chunking, batch_id=batch_id, now=self._now()
        )
        self._worker.wake()
        await self._index.remove(attached.dropped_chunks)  # files attached before
        return await self.get_batch(principal, store_id, batch_id)

    async def get_batch(self, principal: Principal, store_id: str, batch_id: str) -> FileBatch:
        found = await self._store.get_batch(principal.workspace, store_id, batch_id)
        if found is None:
            raise _no_batch(batch_id)
        return found

    async def cancel_batch(self, principal: Principal, store_id: str, batch_id: str) -> FileBatch:
        found = await self._store.cancel_batch(principal.workspace, store_id, batch_id)
        if found is None:
            raise _no_batch(batch_id)
        return found

    async def search(
        self, principal: Principal, store_id: str, query: SearchQuery
    ) -> tuple[SearchHit, ...]:
        return await self.search_stores(principal.workspace, [store_id], query)

    # KnowledgeSearch

    async def search_stores(
        self,
        workspace: str,
        store_ids: Sequence[str],
        query: SearchQuery,
        *,
        mode: SearchMode = "hybrid",
    ) -> tuple[SearchHit, ...]:
        """Search the named stores of the workspace; `mode` ("hybrid", "vector" or
        "keyword") picks the rankings used (hybrid is what the APIs search with)."""
        return await search_stores(
            self._store,
            self._index,
            self._embedder,
            workspace,
            store_ids,
            query,
            now=self._now(),
            mode=mode,
        )

    async def check_stores(self, workspace: str, store_ids: Sequence[str]) -> None:
        """Refuse (NotFound) a store the workspace cannot search now, before a request
        that names it in a file_search tool generates anything."""
        await searchable_stores(self._store, self._embedder, workspace, store_ids, now=self._now())

    def _mark(self) -> EmbedderMark:
        return EmbedderMark(self._embedder.model, self._embedder.dimensions)

    async def _check_embedder(self, workspace: str, store_id: str) -> None:
        made_with = await self._store.store_embedder(workspace, store_id)
        if made_with is None:
            raise _no_store(store_id)
        mine = self._mark()
        if made_with != mine:
            raise InvalidParameter(
                f"Vector store '{store_id}' was made with embedding model "
                f"'{made_with.model}' ({made_with.dimensions} dimensions); this server "
                f"embeds with '{mine.model}' ({mine.dimensions}), so files cannot be added "
                "to it.",
                param="vector_store_id",
            )


def _check_chunking(chunking: ChunkingStrategy) -> None:
    problem = chunking.problem()
    if problem is not None:
        raise InvalidParameter(problem, param="chunking_strategy")


def _check_days(days: int | None) -> None:
    if days is not None and not 1 <= days <= MAX_EXPIRY_DAYS:
        raise InvalidParameter(
            f"expires_after.days must be between 1 and {MAX_EXPIRY_DAYS}.",
            param="expires_after.days",
        )


def _no_file(file_id: str) -> NotFound:
    return NotFound(f"No file found with id '{file_id}'.", param="file_id")


def _no_store(store_id: str) -> NotFound:
    return NotFound(f"No vector store found with id '{store_id}'.", param="vector_store_id")


def _no_store_file(store_id: str, file_id: str) -> NotFound:
    return NotFound(
        f"No file found with id '{file_id}' in vector store '{store_id}'.", param="file_id"
    )


def _no_batch(batch_id: str) -> NotFound:
    return NotFound(f"No file batch found with id '{batch_id}'.", param="batch_id")
