"""An in-memory `KnowledgeSearch` that keeps every search it is asked for: stores of
chunks by workspace, searched by shared words (score: the share of the query's words a
chunk holds), with the filters, the threshold and the result limit honoured, and a store
that is missing or another workspace's refused with `NotFound`, as the real one does."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from openscope.core.errors import NotFound
from openscope.core.knowledge import SearchHit, SearchQuery


@dataclass(frozen=True, slots=True)
class Searched:
    workspace: str
    store_ids: tuple[str, ...]
    query: SearchQuery


@dataclass
class FakeKnowledge:
    # workspace -> store id -> its chunks (as hits: file, text, attributes; score unused)
    stores: Mapping[str, Mapping[str, Sequence[SearchHit]]] = field(default_factory=dict)
    searched: list[Searched] = field(default_factory=list)

    async def search_stores(
        self, workspace: str, store_ids: Sequence[str], query: SearchQuery
    ) -> tuple[SearchHit, ...]:
        self.searched.append(Searched(workspace, tuple(store_ids), query))
        owned = self.stores.get(workspace, {})
        hits: list[SearchHit] = []
        for store_id in store_ids:
            if store_id not in owned:
                raise NotFound(f"Vector store with id '{store_id}' not found.", param="tools")
            for chunk in owned[store_id]:
                if query.filters is not None and not query.filters.matches(chunk.attributes):
                    continue
                score = max(_share(q, chunk.text) for q in query.queries)
                if score > 0 and score >= query.score_threshold:
                    hits.append(
                        SearchHit(
                            chunk.file_id, chunk.filename, score, chunk.text, chunk.attributes
                        )
                    )
        hits.sort(key=lambda hit: -hit.score)
        return tuple(hits[: query.max_num_results])

    async def check_stores(self, workspace: str, store_ids: Sequence[str]) -> None:
        owned = self.stores.get(workspace, {})
        for store_id in store_ids:
            if store_id not in owned:
                raise NotFound(f"Vector store with id '{store_id}' not found.", param="tools")


def _words(text: str) -> set[str]:
    return {w.strip(".,:;?!").lower() for w in text.split() if w.strip(".,:;?!")}


def _share(query: str, text: str) -> float:
    wanted = _words(query)
    return len(wanted & _words(text)) / len(wanted) if wanted else 0.0
