"""Searching the images of a local index (`images_fts`): bm25 ranking, the image's own words
(its alt text or title) weighing more than those of the page it is on."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from openscope.tools.web_search.images import ImageResult, numbered_images
from openscope.tools.web_search.local_index.fts_query import match_expression
from openscope.tools.web_search.model import SearchFailed, SearchQuery

# bm25 column weights: title (alt text), context.
TITLE_WEIGHT = 4.0
CONTEXT_WEIGHT = 1.0

_SEARCH = f"""
SELECT i.url, i.title, i.page_url
FROM images_fts JOIN images AS i ON i.id = images_fts.rowid
WHERE images_fts MATCH :match
ORDER BY bm25(images_fts, {TITLE_WEIGHT}, {CONTEXT_WEIGHT})
LIMIT :limit
"""
NO_IMAGES_HELP = (
    "the local search index holds no images (Markdown images or JSONL records with an "
    "`image_url`; see openscope.tools.web_search.local_index.image_records)"
)


def search_images(db_path: Path, query: SearchQuery, busy_timeout: float) -> list[ImageResult]:
    """The images of the index at `db_path` matching `query` (blocks: run it in a thread).
    An index with no image at all fails, so that "no images here" is never mistaken for
    "no image matched"."""
    if not db_path.is_file():
        raise SearchFailed(f"no local search index at {db_path} (run build_index)")
    match = match_expression(query.text)
    if match is None:
        raise SearchFailed("the query has no words to search for")
    try:
        with closing(sqlite3.connect(db_path, timeout=busy_timeout)) as db:
            db.execute("PRAGMA query_only = ON")
            if db.execute("SELECT 1 FROM images LIMIT 1").fetchone() is None:
                raise SearchFailed(NO_IMAGES_HELP)
            rows = db.execute(_SEARCH, {"match": match, "limit": query.max_results}).fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            # built before images were indexed: the next build reads the files again
            raise SearchFailed(NO_IMAGES_HELP + "; rebuild the index") from exc
        raise SearchFailed(f"the local search index cannot be read: {exc}") from exc
    except sqlite3.Error as exc:
        raise SearchFailed(f"the local search index cannot be read: {exc}") from exc
    return numbered_images(
        ImageResult(index=0, title=title, url=url, page_url=page_url)
        for url, title, page_url in rows
    )
