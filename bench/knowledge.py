"""What vector stores cost on top of the embedding model itself: ingestion throughput, and
search latency at 10,000 chunks, on SQLite and PostgreSQL, each against the time to embed
the same text directly with the same model in the same run:

    PYTHONPATH=src .venv/bin/python bench/knowledge.py [--database-url postgresql+asyncpg://...]
        [--chunks 10000] [--searches 200] [--threads 1]

The PostgreSQL (with pgvector) comes from `--database-url` or OPENSCOPE_TEST_DATABASE_URL
(`source .ci/postgres.sh` starts a throwaway one); without either only SQLite runs. The
bench writes into a workspace of its own and deletes what it made, but use a scratch
database: its timings are only worth something on one.

Per backend, with the real model (multilingual-e5-small through `LocalEmbedder`, as the
server runs it: `--threads` cores, passes of 32 texts):
- ingestion: the 39 documents of tests/data/knowledge_corpus uploaded, attached to a vector
  store in one batch (OpenAI's default chunking, 800/400 tokens) and ingested by the real
  worker (`run_once` until no file is left: extraction, chunking in the model's tokens,
  embedding, chunk rows, index); files, chunks, the tokens embedded, seconds, chunks/s,
  tokens/s; baseline: the same chunk texts embedded directly (passages, calls of 32), and
  ingestion / direct.
- search: a store of `--chunks` chunks, then `--searches` questions of the corpus's
  question set (cycled) through `KnowledgeService.search` (hybrid, the APIs' path: the
  query embedded, the index searched, the store read and touched) and
  `search_stores(mode=vector|keyword)` (which embed the query too), interleaved with the
  baseline, the question embedded alone, and with the index alone searched in each mode
  with the question's vector at hand; p50/p95 of each and their ratio to the baseline's.
  "answer found": the share of searches with a chunk of the question's answer document
  among the hits, a check that the store answers at all (not a retrieval measure: its
  editions are near-duplicates).
  Embedding 10,000 chunks would take this box a quarter of an hour, so the store is built
  from the corpus's ~250 paragraphs, each embedded for real once: every document comes in
  `ceil(chunks / paragraphs)` editions, whose paragraphs have their numbers redrawn and an
  edition and site name added (one file per document edition); an edition's vector is the
  real vector of the original paragraph plus seeded Gaussian noise, re-normalised (the
  mean cosine to the original is printed). The chunks go in through the store and index
  methods the ingestion worker writes with (claim, replace_chunks, index.add, complete),
  each chunk's tokens counted by the model.
Every number is seeded: every run builds the same stores and asks the same questions.
The machine may be shared: read the ratios, not the absolute figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np

from openscope.backends.local_embeddings import LocalEmbedder
from openscope.core.knowledge import (
    DEFAULT_SEARCH_RESULTS,
    Attributes,
    ChunkingStrategy,
    FileStatus,
    SearchQuery,
)
from openscope.core.principal import Principal
from openscope.engine.knowledge import KnowledgeLimits, KnowledgeService
from openscope.store import open_store, sqlite_url
from openscope.store.knowledge import (
    ChunkIndex,
    IndexedChunk,
    KnowledgeStore,
    LocalBlobStore,
    SearchMode,
    open_chunk_index,
)
from openscope.tools.file_search import extract_text

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "data" / "knowledge_corpus"
DOCUMENT_SUFFIXES = (".md", ".txt", ".html")
# A paragraph shorter than this (a heading, a one-line note) is read with the next one.
MIN_PARAGRAPH_CHARS = 60
SITES = (
    "Kestwick", "Amberly", "Dunmore", "Halvard", "Port Ellery", "Sorrento Bay", "Brisa",
    "Northgate", "Elmstead", "Carrow", "Lindqvist", "Oakhurst", "Tarnby", "Weymar",
)  # fmt: skip
NUMBER = re.compile(r"\d+")
FLOAT_BYTES = 4
# Files attached, and files claimed and written, per store transaction while building.
BUILD_BATCH = 128
WARM_UP_SEARCHES = 10
MODES: tuple[SearchMode, ...] = ("hybrid", "vector", "keyword")


@dataclass(frozen=True, slots=True)
class Document:
    name: str
    content: bytes


@dataclass(frozen=True, slots=True)
class Passage:
    document: str
    text: str


@dataclass(frozen=True, slots=True)
class Edition:
    """One file of the big store: a document's paragraphs in one edition."""

    document: str
    number: int
    texts: tuple[str, ...]
    vectors: tuple[tuple[float, ...], ...]


@dataclass(frozen=True, slots=True)
class Question:
    text: str
    answer: str  # the corpus document that answers it


def corpus() -> list[Document]:
    return [
        Document(path.name, path.read_bytes())
        for path in sorted(CORPUS.iterdir())
        if path.suffix in DOCUMENT_SUFFIXES and path.name != "README.md"
    ]


def questions() -> list[Question]:
    lines = (CORPUS / "questions.jsonl").read_text().splitlines()
    return [Question(row["question"], row["answer_file"]) for row in map(json.loads, lines) if row]


def passages(documents: list[Document]) -> list[Passage]:
    """Each document's extracted text in paragraphs (a short one joined to the next)."""
    found = []
    for document in documents:
        pending = ""
        text = extract_text(document.name, document.content)
        for paragraph in (p.strip() for p in text.split("\n\n")):
            if not paragraph:
                continue
            pending = f"{pending}\n\n{paragraph}" if pending else paragraph
            if len(pending) >= MIN_PARAGRAPH_CHARS:
                found.append(Passage(document.name, pending))
                pending = ""
        if pending:
            found.append(Passage(document.name, pending))
    return found


def editions(
    bases: list[Passage],
    vectors: tuple[tuple[float, ...], ...],
    chunks: int,
    noise: float,
    seed: int,
) -> tuple[list[Edition], float]:
    """`chunks` chunks as editions of the documents (edition 0 is the original, with its
    real vectors), and the mean cosine of the edited vectors to their originals."""
    by_document: dict[str, list[int]] = {}
    for at, passage in enumerate(bases):
        by_document.setdefault(passage.document, []).append(at)
    made: list[Edition] = []
    cosines: list[float] = []
    left = chunks
    for number in range(math.ceil(chunks / len(bases))):
        for document, all_members in by_document.items():
            members = all_members[:left]
            if not members:
                break
            left -= len(members)
            if number == 0:
                originals = tuple(bases[at].text for at in members)
                made.append(Edition(document, 0, originals, tuple(vectors[at] for at in members)))
                continue
            rng = random.Random(f"{seed}:{document}:{number}")
            noisy = np.random.default_rng([seed, number, len(made)])
            site = rng.choice(SITES)
            texts: list[str] = []
            edited: list[tuple[float, ...]] = []
            for at in members:
                text = redraw_numbers(bases[at].text, rng)
                texts.append(f"{text}\n(Edition {number}, {site} site.)")
                base = np.asarray(vectors[at], dtype=np.float64)
                vector = base + noisy.normal(0.0, noise, base.shape)
                vector /= np.linalg.norm(vector)
                cosines.append(float(vector @ base))
                edited.append(tuple(float(v) for v in vector))
            made.append(Edition(document, number, tuple(texts), tuple(edited)))
    return made, statistics.fmean(cosines) if cosines else 1.0


def redraw_numbers(text: str, rng: random.Random) -> str:
    """`text` with each number replaced by another of as many digits."""

    def redraw(found: re.Match[str]) -> str:
        digits = len(found.group())
        return str(
            rng.randint(0, 9) if digits == 1 else rng.randint(10 ** (digits - 1), 10**digits - 1)
        )

    return NUMBER.sub(redraw, text)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


async def timed(work: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    await work()
    return time.perf_counter() - started


class Bench:
    """One backend's service, store and index, in a workspace of the bench's own."""

    def __init__(
        self,
        service: KnowledgeService,
        store: KnowledgeStore,
        index: ChunkIndex,
        embedder: LocalEmbedder,
        limits: KnowledgeLimits,
    ) -> None:
        self.service = service
        self.store = store
        self.index = index
        self.embedder = embedder
        self.limits = limits
        self.who = Principal(key_id="bench", workspace=f"bench-{uuid.uuid4().hex[:12]}")
        self.store_ids: list[str] = []
        self.file_ids: list[str] = []

    async def new_store(self, name: str) -> str:
        made = await self.service.create_store(
            self.who,
            name=name,
            description=None,
            metadata={},
            expires_after_days=None,
            file_ids=[],
            chunking=ChunkingStrategy(),
        )
        self.store_ids.append(made.id)
        return made.id

    async def upload(self, name: str, content: bytes) -> str:
        stored = await self.service.upload(self.who, name, "assistants", content)
        self.file_ids.append(stored.id)
        return stored.id

    async def clean(self) -> None:
        for store_id in self.store_ids:
            await self.service.delete_store(self.who, store_id)
        for file_id in self.file_ids:
            await self.service.delete_file(self.who, file_id)

    # Ingestion

    async def ingestion(self, documents: list[Document]) -> None:
        store_id = await self.new_store("ingestion")
        started = time.perf_counter()
        file_ids = [await self.upload(d.name, d.content) for d in documents]
        uploads = time.perf_counter() - started
        chunking = ChunkingStrategy()
        started = time.perf_counter()
        batch = await self.service.create_batch(
            self.who, store_id, [(f, {}) for f in file_ids], chunking
        )
        while await self.service.worker.run_once():
            pass
        ingesting = time.perf_counter() - started
        done = await self.service.get_batch(self.who, store_id, batch.id)
        if done.status != FileStatus.COMPLETED or done.file_counts.completed != len(file_ids):
            raise SystemExit(f"ingestion did not complete every file: {done}")
        texts = [
            text
            for file_id in file_ids
            for text in await self.service.store_file_chunks(self.who, store_id, file_id)
        ]
        # The baseline: the same chunks straight to the model, in calls of the worker's size.
        tokens = 0
        started = time.perf_counter()
        for at in range(0, len(texts), self.limits.embed_batch):
            embedded = await self.embedder.embed(texts[at : at + self.limits.embed_batch])
            tokens += embedded.tokens
        direct = time.perf_counter() - started
        size = f"{chunking.max_chunk_size_tokens}/{chunking.chunk_overlap_tokens}"
        print(
            f"  ingestion: {len(file_ids)} files of {CORPUS.name} (chunking {size} tokens),"
            f" {len(texts)} chunks, {tokens} tokens embedded"
        )
        print(f"    uploads (not counted)  {uploads:7.2f} s")
        for label, seconds in (("worker ingestion", ingesting), ("direct embedding", direct)):
            print(
                f"    {label:<22} {seconds:7.2f} s  {len(texts) / seconds:7.2f} chunks/s"
                f"  {tokens / seconds:7.0f} tokens/s"
            )
        print(f"    ingestion / direct embedding: {ingesting / direct:.2f}x")

    # The big store

    async def build(self, made: list[Edition]) -> tuple[str, dict[str, str], float]:
        """The store of `made`'s chunks: its id, file id -> document, the seconds taken."""
        started = time.perf_counter()
        store_id = await self.new_store("search")
        by_file: dict[str, Edition] = {}
        for edition in made:
            name = f"{Path(edition.document).stem}.edition-{edition.number}.txt"
            file_id = await self.upload(name, "\n\n".join(edition.texts).encode())
            by_file[file_id] = edition
        ids = list(by_file)
        for at in range(0, len(ids), BUILD_BATCH):
            files: list[tuple[str, Attributes]] = [(f, {}) for f in ids[at : at + BUILD_BATCH]]
            await self.service.create_batch(self.who, store_id, files, ChunkingStrategy())
        all_texts = [text for edition in made for text in edition.texts]
        counted = iter(await self.embedder.count_tokens(all_texts))
        tokens = {id(edition): [next(counted) for _ in edition.texts] for edition in made}
        dims = self.embedder.dimensions
        written = 0
        while written < len(ids):
            claims = await self.store.claim_files(
                int(time.time()), self.limits.lease_seconds, BUILD_BATCH
            )
            if not claims:
                raise SystemExit("the store has no file left to claim, yet some are unwritten")
            indexed = []
            for claim in claims:
                edition = by_file[claim.file_id]
                rows = list(zip(edition.texts, tokens[id(edition)], strict=True))
                replaced = await self.store.replace_chunks(claim, rows)
                if replaced is None:
                    raise SystemExit(f"lost the claim of {claim.file_id}")
                indexed += [
                    IndexedChunk(chunk_id, store_id, claim.file_id, text, vector)
                    for chunk_id, text, vector in zip(
                        replaced[1], edition.texts, edition.vectors, strict=True
                    )
                ]
            await self.index.add(indexed)
            for claim in claims:
                texts = by_file[claim.file_id].texts
                usage = sum(len(t.encode()) + FLOAT_BYTES * dims for t in texts)
                if not await self.store.complete(claim, usage):
                    raise SystemExit(f"lost the claim of {claim.file_id}")
            written += len(claims)
        found = await self.service.get_store(self.who, store_id)
        if found.file_counts.completed != len(ids):
            raise SystemExit(f"the search store is not complete: {found.file_counts}")
        document_of = {file_id: edition.document for file_id, edition in by_file.items()}
        return store_id, document_of, time.perf_counter() - started

    async def search(self, store_id: str, text: str, mode: SearchMode) -> list[str]:
        query = SearchQuery(queries=(text,))
        if mode == "hybrid":  # the APIs' own path
            hits = await self.service.search(self.who, store_id, query)
        else:
            hits = await self.service.search_stores(
                self.who.workspace, [store_id], query, mode=mode
            )
        return [hit.file_id for hit in hits]

    async def searches(
        self, store_id: str, document_of: dict[str, str], asked: list[Question]
    ) -> None:
        """Each question in turn: embedded alone (the baseline), searched through the
        service in each mode, and the index alone searched in each mode with the question's
        vector embedded beforehand (what the service adds is the difference)."""
        distinct = list(dict.fromkeys(q.text for q in asked))
        embedded = await self.embedder.embed(distinct, use="query")
        vector_of = dict(zip(distinct, embedded.vectors, strict=True))
        for question in asked[:WARM_UP_SEARCHES]:
            for mode in MODES:
                await self.search(store_id, question.text, mode)
        sides = ["embed", *(f"search {m}" for m in MODES), *(f"index {m}" for m in MODES)]
        seconds: dict[str, list[float]] = {side: [] for side in sides}
        answered: dict[str, int] = dict.fromkeys(sides, 0)
        for turn, question in enumerate(asked):
            # each side goes first in turn, so all of them see the same machine
            for side in sides[turn % len(sides) :] + sides[: turn % len(sides)]:
                kind, _, name = side.partition(" ")
                mode = cast(SearchMode, name)
                files: list[str] = []
                started = time.perf_counter()
                if kind == "embed":
                    await self.embedder.embed([question.text], use="query")
                elif kind == "search":
                    files = await self.search(store_id, question.text, mode)
                else:
                    await self.index.search(
                        store_ids=[store_id],
                        text=question.text,
                        vector=vector_of[question.text],
                        limit=DEFAULT_SEARCH_RESULTS,
                        mode=mode,
                    )
                seconds[side].append(time.perf_counter() - started)
                if kind == "search":
                    answered[side] += any(document_of[f] == question.answer for f in files)
        embed50, embed95 = percentile(seconds["embed"], 0.5), percentile(seconds["embed"], 0.95)
        print(
            f"    {len(asked)} questions (of {len(distinct)}), each timed on every line,"
            f" top {DEFAULT_SEARCH_RESULTS}; every search mode embeds the query"
        )
        print("                          p50 ms   p95 ms  p50/embed  p95/embed  answer found")
        for side in sides:
            p50, p95 = percentile(seconds[side], 0.5), percentile(seconds[side], 0.95)
            label = {"embed": "query embedded alone"}.get(
                side, side.replace("index", "index alone")
            )
            found = f"  {answered[side] / len(asked):11.0%}" if side.startswith("search") else ""
            print(
                f"    {label:<21} {p50 * 1000:8.1f} {p95 * 1000:8.1f}"
                f"  {p50 / embed50:8.2f}x  {p95 / embed95:8.2f}x{found}"
            )


async def run_backend(
    label: str,
    url: str,
    data_dir: Path,
    embedder: LocalEmbedder,
    documents: list[Document],
    made: list[Edition],
    asked: list[Question],
) -> None:
    print(f"\n== {label} ==")
    store = await open_store(url)
    try:
        index = await open_chunk_index(store.engine, data_dir)
        limits = KnowledgeLimits()
        knowledge = KnowledgeStore(store.engine)
        # The worker is driven by `run_once`, never started, so the bench alone claims files.
        service = KnowledgeService(
            knowledge, LocalBlobStore(data_dir / "files"), index, embedder, limits
        )
        bench = Bench(service, knowledge, index, embedder, limits)
        try:
            await bench.ingestion(documents)
            store_id, document_of, built = await bench.build(made)
            chunks = sum(len(edition.texts) for edition in made)
            print(f"  search at {chunks} chunks ({len(made)} files), store built in {built:.1f} s")
            await bench.searches(store_id, document_of, asked)
        finally:
            await bench.clean()
            await service.aclose()
    finally:
        await store.close()


async def main(args: argparse.Namespace) -> int:
    documents, asked_from = corpus(), questions()
    asked = [asked_from[n % len(asked_from)] for n in range(args.searches)]
    embedder = LocalEmbedder(threads=args.threads, max_batch_rows=KnowledgeLimits().embed_batch)
    try:
        await embedder.embed(["warm-up"], use="query")  # the model loaded
        print(
            f"model {embedder.model} ({embedder.dimensions} dims), {args.threads} thread(s),"
            f" passes of {KnowledgeLimits().embed_batch}; {os.cpu_count()} cores"
        )
        bases = passages(documents)
        started = time.perf_counter()
        embedded = await embedder.embed([p.text for p in bases])
        seconds = time.perf_counter() - started
        made, cosine = editions(bases, embedded.vectors, args.chunks, args.noise, args.seed)
        print(
            f"base passages: {len(bases)} paragraphs of the {len(documents)} documents,"
            f" {embedded.tokens} tokens, embedded in {seconds:.1f} s; editions' vectors:"
            f" noise sigma {args.noise}, mean cosine to the original {cosine:.3f}"
        )
        with tempfile.TemporaryDirectory(prefix="bench-knowledge-") as scratch:
            sqlite_dir = Path(scratch) / "sqlite"
            await run_backend(
                "SQLite", sqlite_url(sqlite_dir), sqlite_dir, embedder, documents, made, asked
            )
            if args.database_url:
                pg_dir = Path(scratch) / "postgresql"
                await run_backend(
                    "PostgreSQL", args.database_url, pg_dir, embedder, documents, made, asked
                )
            else:
                print(
                    "\nPostgreSQL skipped: give --database-url or OPENSCOPE_TEST_DATABASE_URL"
                    " (source .ci/postgres.sh starts one)"
                )
    finally:
        await embedder.close()
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", default=os.environ.get("OPENSCOPE_TEST_DATABASE_URL") or None
    )
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--searches", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--noise", type=float, default=0.015, help="per-dimension sigma")
    parser.add_argument("--seed", type=int, default=15)
    sys.exit(asyncio.run(main(parser.parse_args())))
