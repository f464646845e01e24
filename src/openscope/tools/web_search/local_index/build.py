"""Building and refreshing a local index: `build_index(source, db_path)`.

The index is one SQLite file: a `sources` table (each indexed file with the modification time
and size it had when read), `documents` (rows of a file), and an FTS5 table over their title
and content kept in step by triggers; `images` (the images a file carries, `image_records`)
with `images_fts` over their title and context, kept the same way. A build mirrors `source`
(a folder, searched recursively, or one file): files whose mtime or size changed are read
again, files gone are dropped with their documents and images, the rest is left as it is.
It runs in one transaction, so a search during a build sees the index before it; WAL mode
keeps such searches unblocked.
An index made by an older schema (`user_version`) is read again whole on its first build.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from openscope.tools.web_search.local_index.documents import (
    INDEXED_SUFFIXES,
    Document,
    read_documents,
)
from openscope.tools.web_search.local_index.image_records import ImageRecord
from openscope.tools.web_search.sites import host_of

# 2: images. An index of an older version is read again whole, its files may hold images.
SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sources (
    path TEXT PRIMARY KEY,
    mtime_ns INTEGER NOT NULL,
    size INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS documents (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL REFERENCES sources(path) ON DELETE CASCADE,
    url TEXT NOT NULL,
    title TEXT NOT NULL,
    content TEXT NOT NULL,
    host TEXT NOT NULL,
    published REAL  -- unix seconds, NULL when undated
);
CREATE INDEX IF NOT EXISTS documents_source ON documents(source);
CREATE VIRTUAL TABLE IF NOT EXISTS documents_fts USING fts5(
    title, content, content='documents', content_rowid='id',
    tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS documents_ai AFTER INSERT ON documents BEGIN
    INSERT INTO documents_fts(rowid, title, content) VALUES (new.id, new.title, new.content);
END;
CREATE TRIGGER IF NOT EXISTS documents_ad AFTER DELETE ON documents BEGIN
    INSERT INTO documents_fts(documents_fts, rowid, title, content)
    VALUES ('delete', old.id, old.title, old.content);
END;
CREATE TABLE IF NOT EXISTS images (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL REFERENCES sources(path) ON DELETE CASCADE,
    url TEXT NOT NULL,
    title TEXT NOT NULL,
    page_url TEXT NOT NULL,
    context TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS images_source ON images(source);
CREATE VIRTUAL TABLE IF NOT EXISTS images_fts USING fts5(
    title, context, content='images', content_rowid='id',
    tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS images_ai AFTER INSERT ON images BEGIN
    INSERT INTO images_fts(rowid, title, context) VALUES (new.id, new.title, new.context);
END;
CREATE TRIGGER IF NOT EXISTS images_ad AFTER DELETE ON images BEGIN
    INSERT INTO images_fts(images_fts, rowid, title, context)
    VALUES ('delete', old.id, old.title, old.context);
END;
"""


@dataclass(slots=True)
class BuildReport:
    """What a build did, counted in files (and documents and images in the index after it)."""

    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    documents: int = 0
    images: int = 0
    problems: list[str] = field(default_factory=list)


def build_index(source: str | Path, db_path: str | Path) -> BuildReport:
    """Create or refresh the index at `db_path` from `source` (see the module docstring).
    FileNotFoundError when `source` does not exist, ValueError for a single file of a kind
    the index does not read; a JSONL line it cannot use is skipped and named in `problems`."""
    root = Path(source).resolve()
    if not root.exists():
        raise FileNotFoundError(f"no such file or folder: {root}")
    if root.is_file() and root.suffix.lower() not in INDEXED_SUFFIXES:
        raise ValueError(f"{root}: not a file the index reads")
    report = BuildReport()
    # Autocommit mode: the transaction below is begun and ended here, not by the driver.
    with closing(sqlite3.connect(db_path, isolation_level=None)) as db:
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA foreign_keys = ON")
        db.executescript(_SCHEMA)
        (version,) = db.execute("PRAGMA user_version").fetchone()
        db.execute("BEGIN IMMEDIATE")
        try:
            if version < SCHEMA_VERSION:
                _forget_sources(db)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            _refresh(db, root, report)
            (report.documents,) = db.execute("SELECT count(*) FROM documents").fetchone()
            (report.images,) = db.execute("SELECT count(*) FROM images").fetchone()
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
    return report


def _refresh(db: sqlite3.Connection, root: Path, report: BuildReport) -> None:
    known = {
        path: (mtime_ns, size)
        for path, mtime_ns, size in db.execute("SELECT path, mtime_ns, size FROM sources")
    }
    found: set[str] = set()
    for path in _files(root):
        key = str(path)
        found.add(key)
        stat = path.stat()
        state = (stat.st_mtime_ns, stat.st_size)
        if known.get(key) == state:
            report.unchanged += 1
            continue
        read = read_documents(path)
        report.problems.extend(read.problems)
        if key in known:
            report.updated += 1
            db.execute("DELETE FROM documents WHERE source = ?", (key,))
            db.execute("DELETE FROM images WHERE source = ?", (key,))
        else:
            report.added += 1
        db.execute(
            "INSERT INTO sources (path, mtime_ns, size) VALUES (?, ?, ?)"
            " ON CONFLICT (path) DO UPDATE SET mtime_ns = excluded.mtime_ns,"
            " size = excluded.size",
            (key, *state),
        )
        db.executemany(
            "INSERT INTO documents (source, url, title, content, host, published)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [_row(key, document) for document in read.documents],
        )
        db.executemany(
            "INSERT INTO images (source, url, title, page_url, context) VALUES (?, ?, ?, ?, ?)",
            [_image_row(key, image) for image in read.images],
        )
    for gone in known.keys() - found:
        report.removed += 1
        db.execute("DELETE FROM documents WHERE source = ?", (gone,))
        db.execute("DELETE FROM images WHERE source = ?", (gone,))
        db.execute("DELETE FROM sources WHERE path = ?", (gone,))


def _forget_sources(db: sqlite3.Connection) -> None:
    """Make every file be read again (and counted as added) by this build."""
    db.execute("DELETE FROM documents")
    db.execute("DELETE FROM images")
    db.execute("DELETE FROM sources")


def _files(root: Path) -> Iterator[Path]:
    if root.is_file():
        yield root
        return
    for path in sorted(root.rglob("*")):
        hidden = any(part.startswith(".") for part in path.relative_to(root).parts)
        if not hidden and path.is_file() and path.suffix.lower() in INDEXED_SUFFIXES:
            yield path


def _row(source: str, document: Document) -> tuple[str, str, str, str, str, float | None]:
    published = None if document.published is None else document.published.timestamp()
    host = host_of(document.url)
    return (source, document.url, document.title, document.content, host, published)


def _image_row(source: str, image: ImageRecord) -> tuple[str, str, str, str, str]:
    return (source, image.url, image.title, image.page_url, image.context)
