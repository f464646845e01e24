"""The images a corpus file carries, for `web_search_image` over the local index.

* Markdown (`.md`, `.markdown`): every inline image `![alt text](src "title")`, and an
  `image:` front-matter key (a cover image, as static-site generators write it). An image is
  found by its alt text (else its title, else the document's title) and by the title of the
  document it is in; a relative `src` is resolved against the document's URL.
* JSONL: a line with an `image_url` is an image record, not a document:
  `{"image_url": "https://…/cat.jpg", "title": "A cat asleep", "url"?: "<page it is on>",
  "content"?: "<more words to find it by>"}`; `title` (the alt text) is required.

Only http(s) and file URLs are kept (a `data:` image is no address to show a client).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

# ![alt](src) or ![alt](src "title"); src may be <bracketed>.
_MARKDOWN_IMAGE = re.compile(
    r"!\[(?P<alt>[^\]]*)\]\(\s*<?(?P<src>[^)\s>]+)>?(?:\s+[\"'](?P<title>[^\"')]*)[\"'])?\s*\)"
)
_SCHEMES = ("http://", "https://", "file://")


@dataclass(frozen=True, slots=True)
class ImageRecord:
    """One image as the index holds it: its URL, the words it is shown and found by
    (`title`), the page it is on ("" when none) and more words to find it by (`context`)."""

    url: str
    title: str
    page_url: str
    context: str


def markdown_images(
    body: str, *, page_url: str, page_title: str, cover: str | None
) -> list[ImageRecord]:
    """The images of one Markdown document (its body and its front-matter `image:`)."""
    found: list[ImageRecord] = []
    seen: set[str] = set()
    candidates = [] if not cover else [(cover, "", "")]
    candidates += [(m["src"], m["alt"], m["title"] or "") for m in _MARKDOWN_IMAGE.finditer(body)]
    for src, alt, title in candidates:
        url = _absolute(src, page_url)
        if url is None or url in seen:
            continue
        seen.add(url)
        shown = " ".join((alt or title or page_title).split())
        found.append(ImageRecord(url, shown or url, page_url, page_title))
    return found


def jsonl_image(record: dict[str, Any]) -> ImageRecord | str:
    """The image record of one JSONL line that has `image_url`, or what is wrong with it."""
    url = record.get("image_url")
    title = record.get("title")
    if not isinstance(url, str) or _absolute(url.strip(), "") is None:
        return "`image_url` is not an http(s) or file URL"
    if not isinstance(title, str) or not title.strip():
        return "an image record needs a `title` (its alt text)"
    page = record.get("url")
    context = record.get("content")
    return ImageRecord(
        url=url.strip(),
        title=" ".join(title.split()),
        page_url=page.strip() if isinstance(page, str) else "",
        context=context if isinstance(context, str) else "",
    )


def _absolute(src: str, base: str) -> str | None:
    url = urljoin(base, src.strip()) if base else src.strip()
    return url if url.lower().startswith(_SCHEMES) else None
