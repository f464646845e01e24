"""Retrieval quality on the fixed corpus (tests/data/knowledge_corpus), through the real
ingestion and the real local embedding model, held to floors a little under what was
measured (bench/retrieval_quality.py prints the table: recall@5 hybrid 0.87, vector
0.83, keyword 0.58 when written). A change to extraction, chunking, the embedder, the
index or the fusion that costs recall fails here."""

from __future__ import annotations

from pathlib import Path

from tests.engine.knowledge.retrieval import measure_recall, questions, table


async def test_recall_at_5_by_mode(tmp_path: Path) -> None:
    recall = await measure_recall(tmp_path)
    shown = "\n" + table(recall)
    assert recall.questions == len(questions()) >= 40
    assert recall.of("hybrid") >= 0.80, shown
    assert recall.of("vector") >= 0.75, shown
    # hybrid keeps the keyword ranking's exact matches and loses little of the vector's
    assert recall.of("hybrid") >= recall.of("vector") - 0.02, shown
    assert recall.of("hybrid") > recall.of("keyword"), shown
    assert recall.kind_of("hybrid", "lexical") == 1.0, shown
    assert recall.kind_of("keyword", "lexical") >= 0.9, shown
