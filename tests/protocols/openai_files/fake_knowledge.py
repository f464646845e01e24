"""An in-memory `FilesService` and `VectorStoresService` for the wire tests: real ids,
cursor pages, statuses and workspace isolation, with ingestion reduced to words.

Ingestion advances as it is observed, so the tests are deterministic: a file attached to
a store is `in_progress` when attached and when first retrieved (alone or through its
batch), and done from the next look on: `completed` when its bytes are UTF-8 text,
`failed` (`unsupported_file`) otherwise. A chunk is `max_chunk_size_tokens` words sharing
`chunk_overlap_tokens` with the one before; a search scores a chunk by the share of a
query's words it holds."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from openscope.core.errors import InvalidParameter, NotFound
from openscope.core.knowledge import (
    Attributes,
    ChunkingStrategy,
    FileBatch,
    FileCounts,
    FileStatus,
    IngestError,
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

PURPOSES = frozenset({"assistants", "batch", "fine-tune", "vision", "user_data", "evals"})
DAY = 86_400


@dataclass(slots=True)
class _Attached:
    file: VectorStoreFile
    batch_id: str | None
    looks: int = 0  # how often it was observed while in progress
    chunks: tuple[str, ...] = ()


@dataclass(slots=True)
class _Store:
    store: VectorStore
    files: dict[str, _Attached] = field(default_factory=dict)
    batches: dict[str, FileBatch] = field(default_factory=dict)


@dataclass(slots=True)
class FakeKnowledge:
    max_file_bytes: int = 1 << 20
    files: dict[tuple[str, str], StoredFile] = field(default_factory=dict)
    contents: dict[tuple[str, str], bytes] = field(default_factory=dict)
    stores: dict[tuple[str, str], _Store] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)  # method names, in order

    # -- files --------------------------------------------------------------------------

    async def upload(
        self,
        principal: Principal,
        filename: str,
        purpose: str,
        content: bytes,
        expires_after_seconds: int | None = None,
    ) -> StoredFile:
        self.calls.append("upload")
        if purpose not in PURPOSES:
            raise InvalidParameter(f"Invalid 'purpose': {purpose!r}.", param="purpose")
        if len(content) > self.max_file_bytes:
            raise InvalidParameter("File too large.", param="file")
        now = int(time.time())
        expires_at = now + expires_after_seconds if expires_after_seconds is not None else None
        stored = StoredFile(
            file_id(), principal.workspace, filename, purpose, len(content), now, expires_at
        )
        self.files[(principal.workspace, stored.id)] = stored
        self.contents[(principal.workspace, stored.id)] = content
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
        self.calls.append("list_files")
        mine = [
            f
            for (ws, _), f in self.files.items()
            if ws == principal.workspace and (purpose is None or f.purpose == purpose)
        ]
        return _page(mine, limit=limit, order=order, after=after, before=None)

    async def get_file(self, principal: Principal, file_id: str) -> StoredFile:
        self.calls.append("get_file")
        found = self.files.get((principal.workspace, file_id))
        if found is None:
            raise NotFound(f"No such File object: {file_id}", param="file_id")
        return found

    async def file_content(self, principal: Principal, file_id: str) -> bytes:
        self.calls.append("file_content")
        await self.get_file(principal, file_id)
        return self.contents[(principal.workspace, file_id)]

    async def delete_file(self, principal: Principal, file_id: str) -> None:
        self.calls.append("delete_file")
        await self.get_file(principal, file_id)
        del self.files[(principal.workspace, file_id)]
        del self.contents[(principal.workspace, file_id)]

    # -- stores -------------------------------------------------------------------------

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
        self.calls.append("create_store")
        for fid in file_ids:
            await self.get_file(principal, fid)
        now = int(time.time())
        store = VectorStore(
            id=vector_store_id(),
            workspace=principal.workspace,
            name=name,
            created_at=now,
            last_active_at=now,
            status="completed",
            usage_bytes=0,
            file_counts=FileCounts(),
            metadata=dict(metadata),
            description=description,
            expires_after_days=expires_after_days,
            expires_at=now + expires_after_days * DAY if expires_after_days else None,
        )
        held = _Store(store)
        self.stores[(principal.workspace, store.id)] = held
        for fid in file_ids:
            self._attach(principal, held, fid, {}, chunking, None)
        return self._summary(held)

    async def get_store(self, principal: Principal, store_id: str) -> VectorStore:
        self.calls.append("get_store")
        return self._summary(self._store(principal, store_id))

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
        self.calls.append("update_store")
        held = self._store(principal, store_id)
        store = held.store
        if name is not None:
            store = replace(store, name=name)
        if metadata is not None:
            store = replace(store, metadata=dict(metadata))
        if expires_after_days is not None:
            expires_at = store.last_active_at + expires_after_days * DAY
            store = replace(store, expires_after_days=expires_after_days, expires_at=expires_at)
        if clear_expiry:
            store = replace(store, expires_after_days=None, expires_at=None)
        held.store = store
        return self._summary(held)

    async def delete_store(self, principal: Principal, store_id: str) -> None:
        self.calls.append("delete_store")
        self._store(principal, store_id)
        del self.stores[(principal.workspace, store_id)]

    async def list_stores(
        self,
        principal: Principal,
        *,
        limit: int,
        order: Order,
        after: str | None,
        before: str | None,
    ) -> ListPage:
        self.calls.append("list_stores")
        mine = [self._summary(s) for (ws, _), s in self.stores.items() if ws == principal.workspace]
        return _page(mine, limit=limit, order=order, after=after, before=before)

    # -- files of a store ---------------------------------------------------------------

    async def add_file(
        self,
        principal: Principal,
        store_id: str,
        file_id: str,
        *,
        attributes: Attributes,
        chunking: ChunkingStrategy,
    ) -> VectorStoreFile:
        self.calls.append("add_file")
        held = self._store(principal, store_id)
        await self.get_file(principal, file_id)
        return self._attach(principal, held, file_id, attributes, chunking, None).file

    async def get_store_file(
        self, principal: Principal, store_id: str, file_id: str
    ) -> VectorStoreFile:
        self.calls.append("get_store_file")
        attached = self._attached(principal, store_id, file_id)
        self._look(principal, attached)
        return attached.file

    async def update_store_file(
        self, principal: Principal, store_id: str, file_id: str, attributes: Attributes
    ) -> VectorStoreFile:
        self.calls.append("update_store_file")
        attached = self._attached(principal, store_id, file_id)
        attached.file = replace(attached.file, attributes=dict(attributes))
        return attached.file

    async def remove_file(self, principal: Principal, store_id: str, file_id: str) -> None:
        self.calls.append("remove_file")
        self._attached(principal, store_id, file_id)
        del self._store(principal, store_id).files[file_id]

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
        self.calls.append("list_store_files")
        held = self._store(principal, store_id)
        chosen = [
            a.file
            for a in held.files.values()
            if (status is None or a.file.status is status)
            and (batch_id is None or a.batch_id == batch_id)
        ]
        return _page(chosen, limit=limit, order=order, after=after, before=before)

    async def store_file_chunks(
        self, principal: Principal, store_id: str, file_id: str
    ) -> tuple[str, ...]:
        self.calls.append("store_file_chunks")
        return self._attached(principal, store_id, file_id).chunks

    # -- batches ------------------------------------------------------------------------

    async def create_batch(
        self,
        principal: Principal,
        store_id: str,
        files: Sequence[tuple[str, Attributes]],
        chunking: ChunkingStrategy,
    ) -> FileBatch:
        self.calls.append("create_batch")
        held = self._store(principal, store_id)
        for fid, _ in files:
            await self.get_file(principal, fid)
        batch = FileBatch(
            file_batch_id(), store_id, int(time.time()), FileStatus.IN_PROGRESS, FileCounts()
        )
        held.batches[batch.id] = batch
        for fid, attributes in files:
            self._attach(principal, held, fid, attributes, chunking, batch.id)
        return self._batch(held, batch.id)

    async def get_batch(self, principal: Principal, store_id: str, batch_id: str) -> FileBatch:
        self.calls.append("get_batch")
        held = self._store(principal, store_id)
        self._batch_of(held, batch_id)
        for attached in held.files.values():
            if attached.batch_id == batch_id:
                self._look(principal, attached)
        return self._batch(held, batch_id)

    async def cancel_batch(self, principal: Principal, store_id: str, batch_id: str) -> FileBatch:
        self.calls.append("cancel_batch")
        held = self._store(principal, store_id)
        batch = self._batch_of(held, batch_id)
        for attached in held.files.values():
            if attached.batch_id == batch_id and attached.file.status is FileStatus.IN_PROGRESS:
                attached.file = replace(attached.file, status=FileStatus.CANCELLED)
        held.batches[batch_id] = replace(batch, status=FileStatus.CANCELLED)
        return self._batch(held, batch_id)

    # -- search -------------------------------------------------------------------------

    async def search(
        self, principal: Principal, store_id: str, query: SearchQuery
    ) -> tuple[SearchHit, ...]:
        self.calls.append("search")
        held = self._store(principal, store_id)
        hits: list[SearchHit] = []
        for fid, attached in held.files.items():
            file = attached.file
            if file.status is not FileStatus.COMPLETED:
                continue
            if query.filters is not None and not query.filters.matches(file.attributes):
                continue
            stored = self.files[(principal.workspace, fid)]
            for chunk in attached.chunks:
                score = max(_overlap(q, chunk) for q in query.queries)
                if score > 0 and score >= query.score_threshold:
                    hits.append(SearchHit(fid, stored.filename, score, chunk, file.attributes))
        hits.sort(key=lambda h: -h.score)
        return tuple(hits[: query.max_num_results])

    # -- the workings -------------------------------------------------------------------

    def _store(self, principal: Principal, store_id: str) -> _Store:
        held = self.stores.get((principal.workspace, store_id))
        if held is None:
            raise NotFound(f"No vector store found with id '{store_id}'.", param="vector_store_id")
        return held

    def _attached(self, principal: Principal, store_id: str, file_id: str) -> _Attached:
        attached = self._store(principal, store_id).files.get(file_id)
        if attached is None:
            raise NotFound(
                f"No file found with id '{file_id}' in vector store '{store_id}'.",
                param="file_id",
            )
        return attached

    def _batch_of(self, held: _Store, batch_id: str) -> FileBatch:
        batch = held.batches.get(batch_id)
        if batch is None:
            raise NotFound(f"No file batch found with id '{batch_id}'.", param="batch_id")
        return batch

    def _attach(
        self,
        principal: Principal,
        held: _Store,
        file_id: str,
        attributes: Attributes,
        chunking: ChunkingStrategy,
        batch_id: str | None,
    ) -> _Attached:
        file = VectorStoreFile(
            id=file_id,
            vector_store_id=held.store.id,
            created_at=int(time.time()),
            status=FileStatus.IN_PROGRESS,
            usage_bytes=0,
            chunking=chunking,
            attributes=dict(attributes),
        )
        attached = _Attached(file, batch_id)
        held.files[file_id] = attached
        return attached

    def _look(self, principal: Principal, attached: _Attached) -> None:
        """One observation of a file: the second one finds its ingestion finished."""
        if attached.file.status is not FileStatus.IN_PROGRESS:
            return
        attached.looks += 1
        if attached.looks < 2:
            return
        content = self.contents[(principal.workspace, attached.file.id)]
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            attached.file = replace(
                attached.file,
                status=FileStatus.FAILED,
                last_error=(IngestError.UNSUPPORTED_FILE, "The file is not UTF-8 text."),
            )
            return
        attached.chunks = _chunks(text, attached.file.chunking)
        attached.file = replace(
            attached.file, status=FileStatus.COMPLETED, usage_bytes=len(content)
        )

    def _summary(self, held: _Store) -> VectorStore:
        counts = _counts(a.file.status for a in held.files.values())
        usage = sum(a.file.usage_bytes for a in held.files.values())
        status = "in_progress" if counts.in_progress else "completed"
        return replace(held.store, file_counts=counts, usage_bytes=usage, status=status)

    def _batch(self, held: _Store, batch_id: str) -> FileBatch:
        batch = held.batches[batch_id]
        counts = _counts(a.file.status for a in held.files.values() if a.batch_id == batch_id)
        status = batch.status
        if status is FileStatus.IN_PROGRESS and not counts.in_progress:
            status = FileStatus.FAILED if counts.failed == counts.total else FileStatus.COMPLETED
        held.batches[batch_id] = replace(batch, status=status, file_counts=counts)
        return held.batches[batch_id]


def _counts(statuses: Iterable[FileStatus]) -> FileCounts:
    tally = dict.fromkeys(FileStatus, 0)
    for status in statuses:
        tally[status] += 1
    return FileCounts(
        in_progress=tally[FileStatus.IN_PROGRESS],
        completed=tally[FileStatus.COMPLETED],
        failed=tally[FileStatus.FAILED],
        cancelled=tally[FileStatus.CANCELLED],
    )


def _page(
    items: Sequence[StoredFile | VectorStore | VectorStoreFile],
    *,
    limit: int,
    order: Order,
    after: str | None,
    before: str | None,
) -> ListPage:
    """Items in creation order (insertion here), then the cursor, then the limit."""
    ordered = list(items) if order is Order.ASC else list(reversed(items))
    ids = [i.id for i in ordered]
    if after is not None:
        ordered = ordered[ids.index(after) + 1 :] if after in ids else []
    if before is not None:
        ids = [i.id for i in ordered]
        ordered = ordered[: ids.index(before)] if before in ids else []
        # `before` pages back: the `limit` items just before the cursor, and whether
        # more lie beyond them
        return ListPage(tuple(ordered[-limit:]), has_more=len(ordered) > limit)
    return ListPage(tuple(ordered[:limit]), has_more=len(ordered) > limit)


WORD = re.compile(r"\w+")


def _words(text: str) -> list[str]:
    return WORD.findall(text.lower())


def _chunks(text: str, chunking: ChunkingStrategy) -> tuple[str, ...]:
    words = text.split()
    size, overlap = chunking.max_chunk_size_tokens, chunking.chunk_overlap_tokens
    chunks = []
    start = 0
    while start < len(words):
        chunks.append(" ".join(words[start : start + size]))
        if start + size >= len(words):
            break
        start += size - overlap
    return tuple(chunks)


def _overlap(query: str, chunk: str) -> float:
    wanted = set(_words(query))
    if not wanted:
        return 0.0
    return len(wanted & set(_words(chunk))) / len(wanted)
