from __future__ import annotations

import pytest

from openscope.store.knowledge import ChunkIndex, IndexedChunk
from openscope.store.knowledge.index.base import RRF_K, fuse
from openscope.store.knowledge.index.terms import query_terms
from tests.engine.knowledge.fake_embedder import FakeEmbedder

EMBEDDER = FakeEmbedder(dimensions=32)
TEXTS = {
    1: ("vs_a", "file-1", "The Orbital K7 drill has a brushless motor and a 2.5 Ah battery."),
    2: ("vs_a", "file-1", "Charge the battery for forty minutes before first use."),
    3: ("vs_a", "file-2", "Our travel policy allows economy flights under six hours."),
    4: ("vs_b", "file-3", "The Orbital K9 drill is the heavier sibling of the K7."),
    5: ("vs_a", "file-2", "阿里云百炼 X1 手机的屏幕是 6.7 英寸。"),
}


def chunk(chunk_id: int) -> IndexedChunk:
    store_id, file_id, text = TEXTS[chunk_id]
    return IndexedChunk(chunk_id, store_id, file_id, text, EMBEDDER.vector(text))


@pytest.fixture
async def filled(index: ChunkIndex) -> ChunkIndex:
    await index.add([chunk(i) for i in TEXTS])
    return index


async def search(index: ChunkIndex, query: str, **kw: object) -> list[int]:
    defaults: dict[str, object] = {"store_ids": ["vs_a"], "limit": 5, "mode": "hybrid"}
    defaults.update(kw)
    matches = await index.search(text=query, vector=EMBEDDER.vector(query), **defaults)  # type: ignore[arg-type]
    assert all(0.0 <= m.score <= 1.0 for m in matches)
    assert [m.score for m in matches] == sorted((m.score for m in matches), reverse=True)
    return [m.chunk_id for m in matches]


async def test_each_mode_finds_the_chunk_sharing_the_words(filled: ChunkIndex) -> None:
    for mode in ("hybrid", "vector", "keyword"):
        assert (await search(filled, "Orbital drill battery", mode=mode))[0] == 1


async def test_keyword_mode_finds_only_chunks_with_a_word(filled: ChunkIndex) -> None:
    assert set(await search(filled, "travel economy", mode="keyword")) == {3}
    assert await search(filled, "zebra", mode="keyword") == []


async def test_chinese_words_are_found_by_keyword(filled: ChunkIndex) -> None:
    assert await search(filled, "百炼手机", mode="keyword") == [5]


async def test_only_the_stores_and_files_named(filled: ChunkIndex) -> None:
    assert 4 not in await search(filled, "Orbital K9 drill")
    assert (await search(filled, "Orbital K9 drill", store_ids=["vs_b"]))[0] == 4
    assert set(await search(filled, "drill battery", file_ids={"file-2"})) <= {3, 5}
    assert await search(filled, "drill", file_ids=set()) == []
    assert await search(filled, "drill", store_ids=[]) == []


async def test_the_top_hit_of_both_rankings_scores_one(filled: ChunkIndex) -> None:
    query = "Orbital drill brushless motor"
    (top, *_) = await filled.search(
        store_ids=["vs_a"], text=query, vector=EMBEDDER.vector(query), limit=3
    )
    assert (top.chunk_id, top.score) == (1, 1.0)


async def test_removed_chunks_and_stores_are_not_found(filled: ChunkIndex) -> None:
    await filled.remove([1, 2])
    assert not {1, 2} & set(await search(filled, "Orbital drill battery"))
    await filled.remove_store("vs_b")
    assert await search(filled, "Orbital K9", store_ids=["vs_b"]) == []
    assert await search(filled, "travel", mode="keyword") == [3]


async def test_adding_a_chunk_again_replaces_it(filled: ChunkIndex) -> None:
    await filled.add(
        [IndexedChunk(3, "vs_a", "file-2", "zebra crossing", EMBEDDER.vector("zebra"))]
    )
    assert await search(filled, "zebra", mode="keyword") == [3]
    assert await search(filled, "travel", mode="keyword") == []


def test_fusion_weighs_rankings_and_divides_by_the_best_possible_sum() -> None:
    fused = fuse([(1.0, [7, 8]), (0.5, [8, 9])])
    k = RRF_K
    best = 1.5 / (k + 1)
    assert [m.chunk_id for m in fused] == [8, 7, 9]
    assert fused[0].score == pytest.approx((1 / (k + 2) + 0.5 / (k + 1)) / best)
    assert fused[1].score == pytest.approx((1 / (k + 1)) / best)
    assert fused[2].score == pytest.approx((0.5 / (k + 2)) / best)
    # first in every ranking scores 1
    assert fuse([(1.0, [3]), (0.5, [3])])[0].score == pytest.approx(1.0)


def test_a_query_s_function_words_are_not_searched() -> None:
    assert query_terms("What is the price of the VN7P-A330?") == ["price", "vn7p", "a330"]
    assert query_terms("the of what") == []
    assert "什么" not in query_terms("年假有多少天, 什么时候申请?")
