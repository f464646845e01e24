"""`LocalIndexProvider`: search an index `build_index` made, with bm25 ranking (a title match
weighs more than a body match) and FTS5's `snippet()` around the matched words; and its
images (`search_images`, `image_search`)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

from openscope.tools.web_search.images import ImageResult
from openscope.tools.web_search.local_index.fts_query import match_expression
from openscope.tools.web_search.local_index.image_search import search_images
from openscope.tools.web_search.model import SearchFailed, SearchQuery, SearchResult, numbered
from openscope.tools.web_search.sites import host_allowed, site_name_of

# bm25 column weights: title, content.
TITLE_WEIGHT = 4.0
CONTENT_WEIGHT = 1.0
# Tokens in a snippet (FTS5 allows 1..64).
SNIPPET_TOKENS = 48
BUSY_TIMEOUT_S = 5.0

_SEARCH = f"""
SELECT d.url, d.title, d.published,
       snippet(documents_fts, 1, '', '', '…', :snippet_tokens)
FROM documents_fts JOIN documents AS d ON d.id = documents_fts.rowid
WHERE documents_fts MATCH :match
  AND (:any_site OR site_allowed(d.host))
  AND (:oldest IS NULL OR d.published >= :oldest)
ORDER BY bm25(documents_fts, {TITLE_WEIGHT}, {CONTENT_WEIGHT})
LIMIT :limit
"""


def _utc_now() -> datetime:
    return datetime.now(UTC)


class LocalIndexProvider:
    """A `SearchProvider` over the SQLite index at `db_path`. Each search opens the file
    read-only (query_only) in a worker thread, so the event loop never waits on SQLite and a
    rebuild is picked up by the next search."""

    def __init__(self, db_path: str | Path, *, clock: Callable[[], datetime] = _utc_now) -> None:
        self._db_path = Path(db_path)
        self._clock = clock

    async def search(self, query: SearchQuery) -> list[SearchResult]:
        return await asyncio.to_thread(self._search, query)

    async def search_images(self, query: SearchQuery) -> list[ImageResult]:
        return await asyncio.to_thread(search_images, self._db_path, query, BUSY_TIMEOUT_S)

    def _search(self, query: SearchQuery) -> list[SearchResult]:
        if not self._db_path.is_file():
            raise SearchFailed(f"no local search index at {self._db_path} (run build_index)")
        match = match_expression(query.text)
        if match is None:
            # As with SearXNG: the model is told, so it can search again with words.
            raise SearchFailed("the query has no words to search for")
        oldest = (
            None
            if query.freshness_days is None
            else (self._clock() - timedelta(days=query.freshness_days)).timestamp()
        )
        sites = query.sites
        try:
            with closing(sqlite3.connect(self._db_path, timeout=BUSY_TIMEOUT_S)) as db:
                db.execute("PRAGMA query_only = ON")
                db.create_function(
                    "site_allowed", 1, lambda host: host_allowed(host, sites), deterministic=True
                )
                rows = db.execute(
                    _SEARCH,
                    {
                        "match": match,
                        "any_site": not sites,
                        "oldest": oldest,
                        "snippet_tokens": SNIPPET_TOKENS,
                        "limit": query.max_results,
                    },
                ).fetchall()
        except sqlite3.Error as exc:
            raise SearchFailed(f"the local search index cannot be read: {exc}") from exc
        return numbered(
            SearchResult(
                index=0,
                title=title,
                url=url,
                site_name=site_name_of(url),
                snippet=" ".join(snippet.split()),
                published=None if published is None else datetime.fromtimestamp(published, UTC),
            )
            for url, title, published, snippet in rows
        )
