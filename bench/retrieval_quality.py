"""Retrieval quality of the vector stores' search on the fixed corpus in
tests/data/knowledge_corpus (39 fictional documents, 53 questions each answered by one
of them): recall@5 for vector-only, keyword-only and hybrid search, overall and by the
kind of question (lexical, paraphrase, multilingual). The real local embedding model
(multilingual-e5-small) and chunking at OpenAI's defaults (800 tokens, 400 overlap),
unless told otherwise.

    .venv/bin/python -m bench.retrieval_quality [--k 5] [--max-chunk 800 --overlap 400]
        [--database-url postgresql+asyncpg://...]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from tests.engine.knowledge.retrieval import documents, measure_recall, questions, table

from openscope.core.knowledge import ChunkingStrategy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--max-chunk", type=int, default=800)
    parser.add_argument("--overlap", type=int, default=400)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    chunking = ChunkingStrategy(args.max_chunk, args.overlap)
    with tempfile.TemporaryDirectory() as data_dir:
        recall = asyncio.run(
            measure_recall(
                Path(data_dir), k=args.k, chunking=chunking, database_url=args.database_url
            )
        )
    print(
        f"{len(documents())} documents -> {recall.chunks} chunks "
        f"(max {args.max_chunk} tokens, overlap {args.overlap}), ingested in "
        f"{recall.seconds_to_ingest:.1f} s; {len(questions())} questions"
    )
    print(f"recall@{args.k}:")
    print(table(recall))


if __name__ == "__main__":
    main()
