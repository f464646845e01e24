"""The local index's images: Markdown images (inline and a front-matter cover) and JSONL
image records are indexed beside the documents, found by their words with bm25, refreshed
with their files; an index without images fails instead of finding nothing."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import orjson
import pytest

from openscope.tools.web_search import (
    ImageResult,
    ImageSearchProvider,
    LocalIndexProvider,
    SearchFailed,
    SearchQuery,
    build_index,
)

CATS_MD = """---
title: Cats of Hangzhou
url: https://pets.example.com/cats/
image: /covers/west-lake-cat.jpg
---
# Cats

A tabby by the lake: ![A tabby cat asleep on a boat](tabby.jpg "Tabby")

![](https://cdn.example.org/kitten.png "A kitten in a basket")

Not an image: [a link](https://example.com/page) and ![inline](data:image/png;base64,AAAA).
"""
PLAIN_TXT = "A text file ![not parsed](https://example.com/no.jpg) holds no images.\n"
RECORDS = [
    {
        "image_url": "https://img.example.com/dog.jpg",
        "title": "A golden retriever",
        "url": "https://pets.example.com/dogs",
        "content": "dog puppy park",
    },
    {"image_url": "https://img.example.com/hamster.jpg", "title": "Hamster eating"},
    {"image_url": "not a url", "title": "broken"},
    {"image_url": "https://img.example.com/untitled.jpg"},
    {"url": "https://docs.example.com/a", "title": "A document", "content": "dog food"},
]


def corpus(root: Path) -> Path:
    root.mkdir()
    (root / "cats.md").write_text(CATS_MD)
    (root / "plain.txt").write_text(PLAIN_TXT)
    lines = [orjson.dumps(record).decode() for record in RECORDS]
    (root / "records.jsonl").write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture
def index(tmp_path: Path) -> Path:
    db = tmp_path / "index.sqlite3"
    report = build_index(corpus(tmp_path / "corpus"), db)
    assert report.images == 5
    assert report.documents == 3  # cats.md, plain.txt, the JSONL document
    records = tmp_path / "corpus" / "records.jsonl"
    assert report.problems == [
        f"{records}:3: `image_url` is not an http(s) or file URL",
        f"{records}:4: an image record needs a `title` (its alt text)",
    ]
    return db


async def images(db: Path, text: str, max_results: int = 10) -> list[ImageResult]:
    return await LocalIndexProvider(db).search_images(SearchQuery(text, max_results=max_results))


def test_the_local_index_is_an_image_search_provider(index: Path) -> None:
    assert isinstance(LocalIndexProvider(index), ImageSearchProvider)


async def test_markdown_images_are_found_by_alt_text_with_urls_resolved(index: Path) -> None:
    found = await images(index, "tabby cat")
    assert found[0] == ImageResult(
        1,
        "A tabby cat asleep on a boat",
        "https://pets.example.com/cats/tabby.jpg",
        "https://pets.example.com/cats/",
    )
    # every image of the page is found by the page's title too
    by_page = {image.url: image.title for image in await images(index, "Hangzhou")}
    assert by_page == {
        "https://pets.example.com/covers/west-lake-cat.jpg": "Cats of Hangzhou",  # the cover
        "https://pets.example.com/cats/tabby.jpg": "A tabby cat asleep on a boat",
        "https://cdn.example.org/kitten.png": "A kitten in a basket",  # no alt: its title
    }


async def test_jsonl_image_records_are_found_by_title_and_content(index: Path) -> None:
    assert await images(index, "puppy") == [
        ImageResult(
            1,
            "A golden retriever",
            "https://img.example.com/dog.jpg",
            "https://pets.example.com/dogs",
        )
    ]
    assert [image.url for image in await images(index, "hamster")] == [
        "https://img.example.com/hamster.jpg"
    ]


async def test_a_title_match_ranks_first_and_results_are_capped(index: Path) -> None:
    found = await images(index, "kitten tabby dog retriever hamster", max_results=2)
    assert [image.index for image in found] == [1, 2]
    assert len(found) == 2


async def test_no_match_is_an_empty_list(index: Path) -> None:
    assert await images(index, "submarine") == []


async def test_documents_are_not_images_and_images_are_not_documents(index: Path) -> None:
    provider = LocalIndexProvider(index)
    assert [image.url for image in await images(index, "food")] == []
    pages = await provider.search(SearchQuery("retriever"))
    assert pages == []


async def test_a_changed_file_replaces_its_images(index: Path, tmp_path: Path) -> None:
    cats = tmp_path / "corpus" / "cats.md"
    cats.write_text("# Cats\n\n![A sphynx cat](https://img.example.com/sphynx.jpg)\n")
    report = build_index(tmp_path / "corpus", index)
    assert (report.updated, report.images) == (1, 3)
    assert await images(index, "tabby") == []
    assert [image.url for image in await images(index, "sphynx")] == [
        "https://img.example.com/sphynx.jpg"
    ]
    cats.unlink()
    assert build_index(tmp_path / "corpus", index).images == 2


async def test_an_index_without_images_fails_clearly(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    root.mkdir()
    (root / "a.md").write_text("# Cats\n\nNo picture here.\n")
    db = tmp_path / "index.sqlite3"
    build_index(root, db)
    with pytest.raises(SearchFailed, match="the local search index holds no images"):
        await images(db, "cats")


async def test_an_index_of_the_old_schema_is_read_again(tmp_path: Path) -> None:
    root = corpus(tmp_path / "corpus")
    db = tmp_path / "index.sqlite3"
    build_index(root, db)
    with closing(sqlite3.connect(db, isolation_level=None)) as old:
        # what a version-1 index is: no images tables, user_version 1
        for name in ("images_ai", "images_ad"):
            old.execute(f"DROP TRIGGER {name}")
        old.execute("DROP TABLE images_fts")
        old.execute("DROP TABLE images")
        old.execute("PRAGMA user_version = 1")
    with pytest.raises(SearchFailed, match=r"holds no images.*; rebuild the index"):
        await images(db, "tabby")
    report = build_index(root, db)
    assert (report.added, report.unchanged, report.images) == (3, 0, 5)
    assert [image.title for image in await images(db, "tabby")] == ["A tabby cat asleep on a boat"]


async def test_a_missing_index_fails(tmp_path: Path) -> None:
    with pytest.raises(SearchFailed, match="no local search index at"):
        await images(tmp_path / "absent.sqlite3", "cats")
