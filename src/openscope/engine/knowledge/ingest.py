"""The ingestion worker: makes the files attached to vector stores searchable. It claims
files in progress with a lease (`KnowledgeStore.claim_files`), so a file whose worker died
(a restart, a crashed replica) is taken over once the lease runs out; reads the bytes,
extracts the text (in a thread), cuts it into chunks in the embedder's tokens, embeds them
in batches, and writes chunks and index; then marks the file completed, or failed with
why. A file cancelled or removed meanwhile loses its claim, and the worker drops what it
wrote."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable, Sequence

from openscope.core.errors import OpenScopeError
from openscope.core.knowledge import Embedder, IngestError
from openscope.engine.knowledge.limits import KnowledgeLimits
from openscope.store.knowledge import (
    BlobStore,
    ChunkIndex,
    Claim,
    EmbedderMark,
    IndexedChunk,
    KnowledgeStore,
)
from openscope.tools.file_search import Chunk, ExtractionFailed, chunk_text, extract_text

log = logging.getLogger("openscope.knowledge.ingest")
VECTOR_BYTES = 4  # a float32


class LostClaim(Exception):
    """The file was cancelled, removed or taken over while this worker held it."""


class IngestionWorker:
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
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # The claims being worked on, each at its latest lease (renewals replace them), by
        # (store, file): a failure is recorded, and a stop releases them, under the lease
        # the store now holds.
        self._held: dict[tuple[str, str], Claim] = {}

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="knowledge-ingestion")

    async def aclose(self) -> None:
        """Stop, and release the files being ingested, so that the next server (this one
        restarted, or another replica) takes them at once instead of when their leases
        end. A worker that dies without stopping leaves its leases to run out."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        held, self._held = list(self._held.values()), {}
        for claim in held:
            try:
                await self._store.release(claim)
            except Exception:
                log.exception("releasing file %s of store %s", claim.file_id, claim.store_id)

    def wake(self) -> None:
        """New work: look now instead of at the next poll."""
        self._wake.set()

    async def _run(self) -> None:
        while True:
            try:
                worked = await self.run_once()
            except Exception:
                log.exception("the ingestion worker failed; trying again")
                worked = 0
            if worked:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._limits.poll_seconds)

    async def run_once(self) -> int:
        """Claim what there is room for and ingest it; how many files were claimed."""
        now = int(self._clock())
        claims = await self._store.claim_files(
            now,
            self._limits.lease_seconds,
            self._limits.ingest_concurrency,
            max_attempts=self._limits.max_attempts,
        )
        await asyncio.gather(*(self.ingest(claim) for claim in claims))
        return len(claims)

    async def ingest(self, claim: Claim) -> None:
        key = (claim.store_id, claim.file_id)
        self._held[key] = claim
        try:
            await self._ingest(claim)
        except asyncio.CancelledError:
            raise  # stopping: the claim stays held, for `aclose` to release
        except LostClaim:
            log.info("file %s of store %s: claim lost", claim.file_id, claim.store_id)
        except ExtractionFailed as failure:
            await self._store.fail(self._held.get(key, claim), failure.code, failure.message)
        except Exception as error:
            log.exception("ingesting file %s of store %s failed", claim.file_id, claim.store_id)
            message = error.message if isinstance(error, OpenScopeError) else "ingestion failed"
            await self._store.fail(self._held.get(key, claim), IngestError.SERVER_ERROR, message)
        self._held.pop(key, None)

    async def _ingest(self, claim: Claim) -> None:
        mine = EmbedderMark(self._embedder.model, self._embedder.dimensions)
        if claim.embedder != mine:
            raise ExtractionFailed(
                IngestError.SERVER_ERROR,
                f"the vector store was made with embedding model {claim.embedder.model} "
                f"({claim.embedder.dimensions} dimensions); this server embeds with "
                f"{mine.model} ({mine.dimensions})",
            )
        file = await self._store.get_file(claim.workspace, claim.file_id)
        if file is None:
            raise ExtractionFailed(IngestError.INVALID_FILE, "the file was deleted")
        try:
            content = await self._blobs.get(file.id)
        except KeyError:
            raise ExtractionFailed(
                IngestError.SERVER_ERROR, "the file's bytes are missing"
            ) from None
        text = await asyncio.to_thread(
            extract_text, file.filename, content, self._limits.extraction()
        )
        del content
        # extracting and chunking a long file can take much of a lease: renewed after each
        claim = await self._keep(claim)
        chunks = await chunk_text(
            text,
            claim.chunking,
            self._embedder.count_tokens,
            max_chunks=self._limits.max_chunks_per_file,
        )
        del text
        claim = await self._keep(claim)
        claim, vectors = await self._embed(claim, chunks)
        replaced = await self._store.replace_chunks(claim, [(c.text, c.tokens) for c in chunks])
        if replaced is None:
            raise LostClaim
        old, new = replaced
        await self._index.remove_file(claim.store_id, claim.file_id, only=old)
        await self._index.add(
            [
                IndexedChunk(chunk_id, claim.store_id, claim.file_id, chunk.text, vector)
                for chunk_id, chunk, vector in zip(new, chunks, vectors, strict=True)
            ]
        )
        usage = sum(len(c.text.encode()) + VECTOR_BYTES * mine.dimensions for c in chunks)
        if not await self._store.complete(claim, usage):
            # only what is still this file's in this store: whoever took the file over,
            # or another file, is left alone
            await self._index.remove_file(claim.store_id, claim.file_id, only=new)
            await self._store.drop_chunks(claim, new)
            raise LostClaim

    async def _embed(
        self, claim: Claim, chunks: Sequence[Chunk]
    ) -> tuple[Claim, list[tuple[float, ...]]]:
        vectors: list[tuple[float, ...]] = []
        batch = self._limits.embed_batch
        for at in range(0, len(chunks), batch):
            claim = await self._keep(claim)
            texts = [chunk.text for chunk in chunks[at : at + batch]]
            vectors.extend((await self._embedder.embed(texts, use="passage")).vectors)
        return claim, vectors

    async def _keep(self, claim: Claim) -> Claim:
        """Renew the lease once half of it has passed; raise LostClaim if it is gone."""
        now = int(self._clock())
        if claim.lease - now > self._limits.lease_seconds // 2:
            return claim
        lease = max(now + self._limits.lease_seconds, claim.lease + 1)
        if not await self._store.renew(claim, lease):
            raise LostClaim
        renewed = dataclasses.replace(claim, lease=lease)
        self._held[(claim.store_id, claim.file_id)] = renewed
        return renewed
