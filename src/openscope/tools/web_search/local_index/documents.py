"""Reading a source file into the documents the index holds.

* `.md`, `.markdown`, `.txt`: one document; the title is a front-matter `title:` or the first
  `# heading` (Markdown) or else the file name; `url:` and `date:` front-matter keys are used
  when present.
* `.html`, `.htm`: one document, the visible text (`html_text`); the title is `<title>`, the
  URL the canonical link or `og:url`, the date an `article:published_time`-like meta.
* `.jsonl`: one document per line, `{"url", "title"?, "content", "published"?}`.

Markdown files and JSONL lines with an `image_url` also give images (`image_records`).

A file without a stated URL gets its `file://` URI; a file without a stated date is dated by
its modification time (it is what "how fresh is this" means for a local file). A JSONL line
without `published` is undated, and freshness filters leave undated documents out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from openscope.tools.web_search.local_index.html_text import html_to_text
from openscope.tools.web_search.local_index.image_records import (
    ImageRecord,
    jsonl_image,
    markdown_images,
)

TEXT_SUFFIXES = frozenset({".md", ".markdown", ".txt"})
HTML_SUFFIXES = frozenset({".html", ".htm"})
JSONL_SUFFIXES = frozenset({".jsonl"})
INDEXED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | JSONL_SUFFIXES

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*(?:\n|\Z)", re.DOTALL)
_FRONT_MATTER_KEY = re.compile(r"^([A-Za-z_]+)[ \t]*:[ \t]*(.*?)[ \t]*$", re.MULTILINE)
_MARKDOWN_HEADING = re.compile(r"^#[ \t]+(.+?)[ \t#]*$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Document:
    url: str
    title: str
    content: str
    published: datetime | None


@dataclass(frozen=True, slots=True)
class ReadFile:
    """What one file gave: its documents, a message per part it could not use, and its
    images."""

    documents: list[Document]
    problems: list[str]
    images: list[ImageRecord] = field(default_factory=list)


def parse_date(value: Any) -> datetime | None:
    """An ISO 8601 date or date-time (naive ones taken as UTC), else None."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().strip("\"'")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def read_documents(path: Path) -> ReadFile:
    """The documents in one file (by its suffix)."""
    suffix = path.suffix.lower()
    raw = path.read_bytes().decode("utf-8", errors="replace")
    if suffix in JSONL_SUFFIXES:
        return _read_jsonl(path, raw)
    modified = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    if suffix in HTML_SUFFIXES:
        page = html_to_text(raw)
        document = Document(
            url=page.canonical_url or path.as_uri(),
            title=page.title or path.stem,
            content=page.text,
            published=parse_date(page.published) or modified,
        )
        return ReadFile([document], [])
    if suffix in TEXT_SUFFIXES:
        document, images = _text_document(path, raw, modified)
        return ReadFile([document], [], images)
    raise ValueError(f"{path}: not a file the index reads ({', '.join(sorted(INDEXED_SUFFIXES))})")


def _text_document(path: Path, raw: str, modified: datetime) -> tuple[Document, list[ImageRecord]]:
    meta: dict[str, str] = {}
    body = raw
    front = _FRONT_MATTER.match(raw)
    if front:
        meta = {m[1].lower(): m[2].strip("\"'") for m in _FRONT_MATTER_KEY.finditer(front[1])}
        body = raw[front.end() :]
    title = meta.get("title", "")
    if not title and path.suffix.lower() != ".txt":
        heading = _MARKDOWN_HEADING.search(body)
        title = heading[1] if heading else ""
    document = Document(
        url=meta.get("url") or path.as_uri(),
        title=title or path.stem,
        content=body.strip(),
        published=parse_date(meta.get("date")) or modified,
    )
    if path.suffix.lower() == ".txt":
        return document, []
    images = markdown_images(
        body, page_url=document.url, page_title=document.title, cover=meta.get("image")
    )
    return document, images


def _read_jsonl(path: Path, raw: str) -> ReadFile:
    documents: list[Document] = []
    problems: list[str] = []
    images: list[ImageRecord] = []
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            problems.append(f"{path}:{number}: not JSON")
            continue
        if not isinstance(record, dict):
            problems.append(f"{path}:{number}: not a JSON object")
            continue
        if "image_url" in record:
            image = jsonl_image(record)
            if isinstance(image, str):
                problems.append(f"{path}:{number}: {image}")
            else:
                images.append(image)
            continue
        url, content, title = record.get("url"), record.get("content"), record.get("title")
        if not isinstance(url, str) or not url.strip():
            problems.append(f"{path}:{number}: no `url` string")
            continue
        if not isinstance(content, str):
            problems.append(f"{path}:{number}: no `content` string")
            continue
        published = record.get("published")
        date = parse_date(published)
        if published is not None and date is None:
            problems.append(f"{path}:{number}: `published` is not an ISO 8601 date; undated")
        documents.append(
            Document(
                url=url.strip(),
                title=title.strip() if isinstance(title, str) and title.strip() else url.strip(),
                content=content,
                published=date,
            )
        )
    return ReadFile(documents, problems, images)
