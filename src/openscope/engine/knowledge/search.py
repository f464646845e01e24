"""Searching a workspace's vector stores: the named stores only, their completed files only
(narrowed by the query's attribute filter, matched here in Python), each query text
embedded and searched in the chunk index, a chunk keeping its best score over the queries;
hits below the score threshold dropped, the best `max_num_results` kept."""

from __future__ import annotations

from collections.abc import Sequence

from openscope.core.errors import InvalidParameter
from openscope.core.knowledge import (
    MAX_SEARCH_RESULTS,
    Attributes,
    Embedder,
    SearchHit,
    SearchQuery,
)
from openscope.store.knowledge import (
    ChunkIndex,
    EmbedderMark,
    KnowledgeStore,
    SearchableStore,
    SearchMode,
)


async def searchable_stores(
    store: KnowledgeStore,
    embedder: Embedder,
    workspace: str,
    store_ids: Sequence[str],
    *,
    now: int,
) -> list[SearchableStore]:
    """The named stores of the workspace, each one it may search now with `embedder`;
    raises NotFound for one missing, another workspace's or expired, InvalidParameter
    for one made with another embedding model."""
    stores = await store.searchable(workspace, store_ids, now)
    mine = EmbedderMark(embedder.model, embedder.dimensions)
    for found in stores:
        _usable(found, mine)
    return stores


async def search_stores(
    store: KnowledgeStore,
    index: ChunkIndex,
    embedder: Embedder,
    workspace: str,
    store_ids: Sequence[str],
    query: SearchQuery,
    *,
    now: int,
    mode: SearchMode = "hybrid",
) -> tuple[SearchHit, ...]:
    _check(query)
    stores = await searchable_stores(store, embedder, workspace, store_ids, now=now)
    allowed: dict[tuple[str, str], Attributes] = {
        (found.id, file_id): attributes
        for found in stores
        for file_id, attributes in found.files.items()
        if query.filters is None or query.filters.matches(attributes)
    }
    # their last use moves once a minute at most: most searches write nothing
    if due := [found.id for found in stores if found.touch_due(now)]:
        await store.touch_stores(due, now)
    if not allowed:
        return ()
    file_ids = None if query.filters is None else {file_id for _, file_id in allowed}
    # keyword ranking alone (a measurement's mode) reads no vector: nothing to embed
    vectors: Sequence[Sequence[float]] = (
        [()] * len(query.queries)
        if mode == "keyword"
        else (await embedder.embed(query.queries, use="query")).vectors
    )
    best: dict[int, float] = {}
    for text, vector in zip(query.queries, vectors, strict=True):
        matches = await index.search(
            store_ids=[found.id for found in stores],
            text=text,
            vector=vector,
            limit=query.max_num_results,
            mode=mode,
            file_ids=file_ids,
        )
        for match in matches:
            best[match.chunk_id] = max(best.get(match.chunk_id, 0.0), match.score)
    chunks = await store.chunks_by_id(list(best))
    kept = [
        (score, chunk_id)
        for chunk_id, score in best.items()
        if chunk_id in chunks and chunks[chunk_id][:2] in allowed and score >= query.score_threshold
    ]
    kept.sort(key=lambda pair: (-pair[0], pair[1]))
    kept = kept[: query.max_num_results]
    names = await store.filenames(list({chunks[chunk_id][1] for _, chunk_id in kept}))
    hits = []
    for score, chunk_id in kept:
        store_id, file_id, text = chunks[chunk_id]
        hits.append(
            SearchHit(
                file_id=file_id,
                filename=names.get(file_id, file_id),
                score=round(score, 6),
                text=text,
                attributes=allowed[store_id, file_id],
            )
        )
    return tuple(hits)


def _check(query: SearchQuery) -> None:
    if not query.queries or any(not text.strip() for text in query.queries):
        raise InvalidParameter("The search query must not be empty.", param="query")
    if not 1 <= query.max_num_results <= MAX_SEARCH_RESULTS:
        raise InvalidParameter(
            f"max_num_results must be between 1 and {MAX_SEARCH_RESULTS}.",
            param="max_num_results",
        )
    if not 0.0 <= query.score_threshold <= 1.0:
        raise InvalidParameter(
            "score_threshold must be between 0 and 1.", param="ranking_options.score_threshold"
        )


def _usable(found: SearchableStore, mine: EmbedderMark) -> None:
    if found.expired:
        raise InvalidParameter(
            f"Vector store '{found.id}' has expired and cannot be searched.",
            param="vector_store_id",
        )
    if found.embedder != mine:
        raise InvalidParameter(
            f"Vector store '{found.id}' was made with embedding model "
            f"'{found.embedder.model}' ({found.embedder.dimensions} dimensions) and cannot "
            f"be searched with '{mine.model}' ({mine.dimensions}), the model this server "
            "embeds with.",
            param="vector_store_id",
        )
