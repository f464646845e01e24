"""Retrieval quality on the fixed corpus in tests/data/knowledge_corpus: every document
uploaded and ingested through the knowledge service (extraction, chunking, the real
local embedding model, the index), then each question searched in each mode; recall@k
is the share of questions whose answering document is among the first k results.

Used by tests/engine/knowledge/test_retrieval_quality.py (which holds floors) and by
bench/retrieval_quality.py (which prints the table)."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from openscope.backends.local_embeddings import LocalEmbedder
from openscope.core.knowledge import ChunkingStrategy, SearchQuery
from openscope.core.principal import Principal
from openscope.engine.knowledge import KnowledgeLimits, KnowledgeService, build_knowledge
from openscope.store import open_store, sqlite_url
from openscope.store.knowledge import SEARCH_MODES

CORPUS = Path(__file__).resolve().parents[2] / "data" / "knowledge_corpus"
DOCUMENT_SUFFIXES = (".md", ".txt", ".html")
READER = Principal(key_id="k-eval", workspace="w-eval")
INGEST_POLLS = 6000  # ten minutes at 0.1 s: far past what ingesting the corpus takes


@dataclass(frozen=True, slots=True)
class Question:
    text: str
    answer_file: str
    kind: str


@dataclass
class Recall:
    """Hits at k by mode, overall and by question kind."""

    k: int
    questions: int = 0
    hits: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    by_kind: dict[str, dict[str, list[int]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(lambda: [0, 0]))
    )
    chunks: int = 0
    seconds_to_ingest: float = 0.0

    def of(self, mode: str) -> float:
        return self.hits[mode] / self.questions if self.questions else 0.0

    def kind_of(self, mode: str, kind: str) -> float:
        found, asked = self.by_kind[kind][mode]
        return found / asked if asked else 0.0


def questions() -> list[Question]:
    lines = (CORPUS / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    return [
        Question(entry["question"], entry["answer_file"], entry["kind"])
        for entry in (json.loads(line) for line in lines if line.strip())
    ]


def documents() -> list[Path]:
    return sorted(
        p for p in CORPUS.iterdir() if p.suffix in DOCUMENT_SUFFIXES and p.name != "README.md"
    )


async def measure_recall(
    data_dir: Path,
    *,
    k: int = 5,
    chunking: ChunkingStrategy | None = None,
    database_url: str | None = None,
) -> Recall:
    """Ingest the corpus into a fresh store under `data_dir` (or `database_url`) and
    measure recall@k for every search mode."""
    store = await open_store(database_url or sqlite_url(data_dir))
    embedder = LocalEmbedder()
    service = build_knowledge(store, data_dir, embedder, KnowledgeLimits(poll_seconds=0.05))
    try:
        await service.start()
        return await _measure(service, k, chunking or ChunkingStrategy())
    finally:
        await service.aclose()
        await embedder.close()
        await store.close()


async def _measure(service: KnowledgeService, k: int, chunking: ChunkingStrategy) -> Recall:
    loop = asyncio.get_running_loop()
    started = loop.time()
    uploaded = [
        await service.upload(READER, path.name, "assistants", path.read_bytes())
        for path in documents()
    ]
    vector_store = await service.create_store(
        READER,
        name="corpus",
        description=None,
        metadata={},
        expires_after_days=None,
        file_ids=[f.id for f in uploaded],
        chunking=chunking,
    )
    for _ in range(INGEST_POLLS):
        done = await service.get_store(READER, vector_store.id)
        if done.status != "in_progress":
            break
        await asyncio.sleep(0.1)
    if done.file_counts.completed != len(uploaded):
        raise RuntimeError(f"ingestion left {done.file_counts} of {len(uploaded)} files")
    recall = Recall(k, seconds_to_ingest=loop.time() - started)
    for file in uploaded:
        recall.chunks += len(await service.store_file_chunks(READER, vector_store.id, file.id))
    for question in questions():
        recall.questions += 1
        for mode in SEARCH_MODES:
            hits = await service.search_stores(
                READER.workspace,
                [vector_store.id],
                SearchQuery((question.text,), max_num_results=k),
                mode=mode,
            )
            found = question.answer_file in {hit.filename for hit in hits}
            recall.hits[mode] += found
            tally = recall.by_kind[question.kind][mode]
            tally[0] += found
            tally[1] += 1
    return recall


def table(recall: Recall) -> str:
    """recall@k by mode (columns) overall and by question kind (rows)."""
    kinds = sorted(recall.by_kind)
    header = f"{'questions':<22}" + "".join(f"{mode:>10}" for mode in SEARCH_MODES)
    rows = [header]
    counts: Mapping[str, int] = {kind: recall.by_kind[kind][SEARCH_MODES[0]][1] for kind in kinds}
    for kind in kinds:
        cells = "".join(f"{recall.kind_of(mode, kind):>10.2f}" for mode in SEARCH_MODES)
        rows.append(f"{f'{kind} ({counts[kind]})':<22}{cells}")
    cells = "".join(f"{recall.of(mode):>10.2f}" for mode in SEARCH_MODES)
    rows.append(f"{f'all ({recall.questions})':<22}{cells}")
    return "\n".join(rows)
