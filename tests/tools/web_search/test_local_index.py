"""The local index: build_index over a temp corpus (a folder with Markdown, text, HTML and
JSONL), then LocalIndexProvider's ranking, filters, hostile queries and refreshes."""

from __future__ import annotations

import os
import sqlite3
import threading
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from openscope.tools.web_search import (
    LocalIndexProvider,
    SearchFailed,
    SearchQuery,
    SearchResult,
    build_index,
)

NOW = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)
LONG_AGO = (NOW - timedelta(days=400)).timestamp()

TOKIO_MD = """# Tokio runtime

Tokio is an asynchronous runtime for the Rust programming language. The Tokio scheduler runs
many tasks on a few threads.
"""
ASYNCIO_HTML = """<!doctype html><html><head>
<title>asyncio &mdash; Python</title>
<link rel="canonical" href="https://docs.python.org/3/library/asyncio.html">
<script>var tokio = "tokio tokio tokio";</script><style>.tokio { color: red }</style>
</head><body><h1>asyncio</h1><p>asyncio is a library to write concurrent code.</p>
<p>It is the runtime of Python coroutines.</p></body></html>
"""
NOTES_TXT = "We met near the river bank.\nThe secret is kept here.\n"
RECENT = f"{NOW - timedelta(days=2):%Y-%m-%dT%H:%M:%S}Z"
OLDER = f"{NOW - timedelta(days=100):%Y-%m-%d}"
CORPUS_JSONL = "\n".join(
    [
        orjson.dumps(
            {
                "url": "https://news.example.com/a",
                "title": "Rust 2.0 released",
                "content": "The Rust team released a new edition.",
                "published": RECENT,
            }
        ).decode(),
        orjson.dumps(
            {
                "url": "https://blog.other.org/b",
                "title": "Old Rust news",
                "content": "Rust 1.0 was released long ago.",
                "published": OLDER,
            }
        ).decode(),
        '{"url": "https://www.example.com/c", "title": "Undated Rust page", "content": "Rust."}',
        "this line is not JSON",
        '{"title": "no url", "content": "x"}',
    ]
)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    os.utime(path, (LONG_AGO, LONG_AGO))
    return path


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    write(root / "tokio.md", TOKIO_MD)
    write(root / "python" / "asyncio.html", ASYNCIO_HTML)
    write(root / "notes.txt", NOTES_TXT)
    write(root / "feeds" / "corpus.jsonl", CORPUS_JSONL)
    write(root / ".git" / "ignored.md", "# Tokio Tokio Tokio runtime")
    write(root / "picture.png", "tokio")
    return root


@pytest.fixture
def index(corpus: Path, tmp_path: Path) -> LocalIndexProvider:
    db = tmp_path / "index.db"
    build_index(corpus, db)
    return LocalIndexProvider(db, clock=lambda: NOW)


async def urls(index: LocalIndexProvider, query: SearchQuery) -> list[str]:
    return [result.url for result in await index.search(query)]


def test_build_reads_every_kind_of_file_and_names_the_lines_it_skipped(
    corpus: Path, tmp_path: Path
) -> None:
    report = build_index(corpus, tmp_path / "index.db")
    assert (report.added, report.updated, report.removed, report.unchanged) == (4, 0, 0, 0)
    assert report.documents == 6  # md + html + txt + 3 good JSONL lines
    assert report.problems == [
        f"{corpus / 'feeds' / 'corpus.jsonl'}:4: not JSON",
        f"{corpus / 'feeds' / 'corpus.jsonl'}:5: no `url` string",
    ]


async def test_the_best_match_comes_first(index: LocalIndexProvider, corpus: Path) -> None:
    results = await index.search(SearchQuery("tokio runtime"))
    assert [r.url for r in results] == [
        (corpus / "tokio.md").as_uri(),
        "https://docs.python.org/3/library/asyncio.html",
    ]
    assert [r.index for r in results] == [1, 2]
    tokio = results[0]
    assert tokio.title == "Tokio runtime"
    assert tokio.published == datetime.fromtimestamp(LONG_AGO, UTC)
    assert "asynchronous runtime for the Rust" in tokio.snippet
    assert tokio.site_name == ""


async def test_html_is_indexed_as_its_visible_text(index: LocalIndexProvider) -> None:
    (result,) = await index.search(SearchQuery("coroutines"))
    assert result.title == "asyncio — Python"
    assert result.site_name == "docs.python.org"
    assert "runtime of Python coroutines" in result.snippet
    assert "<" not in result.snippet
    # "tokio" appears only in the page's script and style: not text a reader sees.
    assert "https://docs.python.org/3/library/asyncio.html" not in await urls(
        index, SearchQuery("tokio")
    )


async def test_max_results_limits_the_list(index: LocalIndexProvider) -> None:
    assert len(await index.search(SearchQuery("rust", max_results=2))) == 2
    assert len(await index.search(SearchQuery("rust"))) == 4


async def test_the_site_list_keeps_only_those_hosts_and_their_subdomains(
    index: LocalIndexProvider,
) -> None:
    assert sorted(await urls(index, SearchQuery("rust", sites=("example.com",)))) == [
        "https://news.example.com/a",
        "https://www.example.com/c",
    ]
    assert await urls(index, SearchQuery("rust", sites=("other.org", "nowhere.net"))) == [
        "https://blog.other.org/b"
    ]
    assert await urls(index, SearchQuery("rust", sites=("nowhere.net",))) == []


async def test_freshness_keeps_only_documents_dated_within_it(index: LocalIndexProvider) -> None:
    assert await urls(index, SearchQuery("rust", freshness_days=7)) == [
        "https://news.example.com/a"
    ]
    assert sorted(await urls(index, SearchQuery("rust", freshness_days=180))) == [
        "https://blog.other.org/b",
        "https://news.example.com/a",
    ]
    # Files are dated by their modification time (400 days ago here).
    assert len(await urls(index, SearchQuery("rust", freshness_days=365))) == 2
    assert len(await urls(index, SearchQuery("rust", freshness_days=401))) == 3


@pytest.mark.parametrize(
    "text",
    [
        '"unbalanced secret',
        "secret AND OR NOT",
        "-secret",
        "^secret",
        "{title content}: secret",
        "secret\"'",
        "'); DROP TABLE documents; -- secret",
        "secret NOT river",
    ],
)
async def test_hostile_queries_are_plain_words(
    index: LocalIndexProvider, corpus: Path, text: str
) -> None:
    # Each still finds the one document with "secret", whatever else the text says.
    assert (corpus / "notes.txt").as_uri() in await urls(index, SearchQuery(text))
    assert len(await index.search(SearchQuery("rust"))) == 4  # nothing dropped


async def test_a_column_filter_is_a_word(index: LocalIndexProvider, corpus: Path) -> None:
    # As FTS5 syntax this would search titles only, and notes.txt's title has no "secret".
    assert await urls(index, SearchQuery("title:secret")) == [(corpus / "notes.txt").as_uri()]


async def test_near_is_a_word(index: LocalIndexProvider, corpus: Path) -> None:
    # notes.txt has the word "near"; as NEAR(...) it would need "river" and "bank" only.
    assert await urls(index, SearchQuery("NEAR")) == [(corpus / "notes.txt").as_uri()]


async def test_a_star_is_no_prefix_search(index: LocalIndexProvider) -> None:
    assert await urls(index, SearchQuery("riv*")) == []
    assert await urls(index, SearchQuery("tok*")) == []


@pytest.mark.parametrize("text", ["***", '"', "()", "-^:"])
async def test_a_query_without_words_fails(index: LocalIndexProvider, text: str) -> None:
    with pytest.raises(SearchFailed, match="no words to search for"):
        await index.search(SearchQuery(text))


async def test_an_empty_index_finds_nothing(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    report = build_index(tmp_path / "empty", tmp_path / "index.db")
    assert (report.added, report.documents) == (0, 0)
    assert await LocalIndexProvider(tmp_path / "index.db").search(SearchQuery("rust")) == []


async def test_a_missing_index_fails(tmp_path: Path) -> None:
    with pytest.raises(SearchFailed, match="no local search index"):
        await LocalIndexProvider(tmp_path / "absent.db").search(SearchQuery("rust"))
    assert not (tmp_path / "absent.db").exists()


async def test_a_file_that_is_not_an_index_fails(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "other.db") as db:
        db.execute("CREATE TABLE t (x)")
    with pytest.raises(SearchFailed, match="cannot be read"):
        await LocalIndexProvider(tmp_path / "other.db").search(SearchQuery("rust"))
    (tmp_path / "garbage.db").write_bytes(b"not a database at all" * 100)
    with pytest.raises(SearchFailed, match="cannot be read"):
        await LocalIndexProvider(tmp_path / "garbage.db").search(SearchQuery("rust"))


async def test_a_rebuild_reads_changed_files_and_drops_gone_ones(
    corpus: Path, tmp_path: Path
) -> None:
    db = tmp_path / "index.db"
    build_index(corpus, db)
    index = LocalIndexProvider(db, clock=lambda: NOW)

    again = build_index(corpus, db)
    assert (again.added, again.updated, again.removed, again.unchanged) == (0, 0, 0, 4)
    assert again.documents == 6

    tokio = write(corpus / "tokio.md", "# Glommio\n\nA thread-per-core runtime.\n")
    os.utime(tokio, (LONG_AGO + 60, LONG_AGO + 60))
    (corpus / "notes.txt").unlink()
    write(corpus / "new.md", "# Smol\n\nA small runtime.\n")

    report = build_index(corpus, db)
    assert (report.added, report.updated, report.removed, report.unchanged) == (1, 1, 1, 2)
    assert report.documents == 6
    assert await index.search(SearchQuery("tokio")) == []
    assert await urls(index, SearchQuery("glommio")) == [tokio.as_uri()]
    assert await urls(index, SearchQuery("secret")) == []
    assert await urls(index, SearchQuery("smol")) == [(corpus / "new.md").as_uri()]


async def test_a_jsonl_file_alone_is_a_source(corpus: Path, tmp_path: Path) -> None:
    db = tmp_path / "index.db"
    report = build_index(corpus / "feeds" / "corpus.jsonl", db)
    assert (report.added, report.documents) == (1, 3)
    results: list[SearchResult] = await LocalIndexProvider(db).search(SearchQuery("released"))
    assert {r.url for r in results} == {"https://news.example.com/a", "https://blog.other.org/b"}


def test_build_refuses_a_missing_source_and_an_unknown_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        build_index(tmp_path / "absent", tmp_path / "index.db")
    write(tmp_path / "x.pdf", "pdf")
    with pytest.raises(ValueError, match="not a file the index reads"):
        build_index(tmp_path / "x.pdf", tmp_path / "index.db")


async def test_sqlite_runs_off_the_event_loop_thread(
    index: LocalIndexProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[int] = []
    connect = sqlite3.connect

    def recording_connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        threads.append(threading.get_ident())
        connection: sqlite3.Connection = connect(*args, **kwargs)
        return connection

    monkeypatch.setattr(sqlite3, "connect", recording_connect)
    assert await index.search(SearchQuery("tokio"))
    assert threads and threading.get_ident() not in threads


async def test_a_search_during_a_build_sees_the_index_before_it(
    corpus: Path, tmp_path: Path
) -> None:
    db = tmp_path / "index.db"
    build_index(corpus, db)
    index = LocalIndexProvider(db)
    with closing(sqlite3.connect(db, isolation_level=None)) as writer:
        writer.execute("BEGIN IMMEDIATE")  # as build_index holds it while reading files
        writer.execute("DELETE FROM documents")
        assert len(await index.search(SearchQuery("rust"))) == 4
        writer.execute("COMMIT")
    assert await index.search(SearchQuery("rust")) == []
