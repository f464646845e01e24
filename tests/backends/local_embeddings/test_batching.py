"""How `LocalEmbedder` queues and merges calls, over a fake engine that records every
batch it is handed (the real model is in test_embedder.py)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pytest

from openscope.backends.local_embeddings import DIMENSIONS, LocalEmbedder
from openscope.backends.local_embeddings.engine import E5Engine
from openscope.core.errors import InternalError, Overloaded


class FakeEngine:
    """Row i of a batch is the one-hot vector of the text's length (mod 384), so every
    answer can be checked against its texts. `gate`: held closed, a batch waits on it."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.dimensions = DIMENSIONS
        self.batches: list[tuple[list[str], bool]] = []
        self.threads: set[int] = set()
        self.active = 0
        self.most_active = 0
        self.gate = gate
        self.fail_on: str | None = None

    def embed(self, texts: Sequence[str], is_query: bool) -> npt.NDArray[np.float32]:
        self.active += 1
        self.most_active = max(self.most_active, self.active)
        try:
            self.threads.add(threading.get_ident())
            if self.gate is not None:
                assert self.gate.wait(10)
            self.batches.append((list(texts), is_query))
            if self.fail_on is not None and self.fail_on in texts:
                raise RuntimeError("the engine broke")
            out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
            for row, text in enumerate(texts):
                out[row, len(text) % DIMENSIONS] = 1.0
            return out
        finally:
            self.active -= 1

    def count(self, texts: Sequence[str], is_query: bool = False) -> list[int]:
        return [len(t.split()) for t in texts]


def embedder(engine: FakeEngine, rows: int = 4) -> LocalEmbedder:
    def make(threads: int | None) -> E5Engine:
        return engine  # type: ignore[return-value]

    return LocalEmbedder(max_batch_rows=rows, engine=make)


def hot(length: int) -> int:
    return length % DIMENSIONS


async def test_concurrent_calls_share_batches_of_at_most_max_rows() -> None:
    engine = FakeEngine(gate=threading.Event())
    local = embedder(engine, rows=4)
    texts = [["x" * (10 * call + row + 1) for row in range(call % 3 + 1)] for call in range(9)]
    calls = [asyncio.create_task(local.embed(t, "query")) for t in texts]
    await asyncio.sleep(0.05)  # all queued behind the first batch
    assert engine.gate is not None
    engine.gate.set()
    answers = await asyncio.gather(*calls)
    for call_texts, answer in zip(texts, answers, strict=True):
        assert [v.index(1.0) for v in answer.vectors] == [hot(len(t)) for t in call_texts]
        assert answer.tokens == len(call_texts)
    assert all(len(batch) <= 4 for batch, _ in engine.batches)
    assert len(engine.batches) < len(texts)  # merged
    assert engine.most_active == 1 and len(engine.threads) == 1
    assert threading.get_ident() not in engine.threads  # never on the event loop's thread
    await local.close()


async def test_queries_and_passages_never_share_a_batch() -> None:
    engine = FakeEngine(gate=threading.Event())
    local = embedder(engine, rows=8)
    calls = [
        asyncio.create_task(local.embed([f"text {i}"], "query" if i % 2 else "passage"))
        for i in range(6)
    ]
    await asyncio.sleep(0.05)
    assert engine.gate is not None
    engine.gate.set()
    await asyncio.gather(*calls)
    for batch, is_query in engine.batches:
        expected = {f"text {i}" for i in range(6) if bool(i % 2) == is_query}
        assert set(batch) <= expected
    assert sorted(t for b, _ in engine.batches for t in b) == sorted(f"text {i}" for i in range(6))
    await local.close()


async def test_a_large_call_is_read_in_slices_and_lets_a_short_one_through() -> None:
    engine = FakeEngine(gate=threading.Event())
    local = embedder(engine, rows=4)
    big_texts = [f"row {i:02d}" for i in range(12)]
    big = asyncio.create_task(local.embed(big_texts, "passage"))
    await asyncio.sleep(0.02)  # the first slice is being read
    short = asyncio.create_task(local.embed(["short one"], "passage"))
    await asyncio.sleep(0.02)
    assert engine.gate is not None
    engine.gate.set()
    big_answer, short_answer = await asyncio.gather(big, short)
    assert len(big_answer.vectors) == 12 and big_answer.tokens == 24
    assert len(short_answer.vectors) == 1
    order = [text for batch, _ in engine.batches for text in batch]
    # the short call rides in the second batch, not after all twelve rows
    assert order.index("short one") < order.index("row 11")
    assert all(len(batch) <= 4 for batch, _ in engine.batches)
    await local.close()


async def test_a_cancelled_call_is_skipped_and_the_others_answered() -> None:
    engine = FakeEngine(gate=threading.Event())
    local = embedder(engine, rows=1)
    first = asyncio.create_task(local.embed(["first"], "query"))
    await asyncio.sleep(0.02)
    gone = asyncio.create_task(local.embed(["gone"], "query"))
    last = asyncio.create_task(local.embed(["last"], "query"))
    await asyncio.sleep(0.02)
    gone.cancel()
    assert engine.gate is not None
    engine.gate.set()
    assert len((await first).vectors) == 1
    assert len((await last).vectors) == 1
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert "gone" not in [t for batch, _ in engine.batches for t in batch]
    await local.close()


async def test_an_engine_failure_fails_only_its_batch() -> None:
    engine = FakeEngine()
    engine.fail_on = "bad"
    local = embedder(engine, rows=1)
    with pytest.raises(InternalError):
        await local.embed(["bad"], "query")
    assert len((await local.embed(["good"], "query")).vectors) == 1
    await local.close()


async def test_closed_embedder_refuses_calls() -> None:
    local = embedder(FakeEngine())
    assert (await local.embed([], "query")).vectors == ()
    await local.close()
    with pytest.raises(Overloaded):
        await local.embed(["late"], "query")
    with pytest.raises(Overloaded):
        await local.count_tokens(["late"])
