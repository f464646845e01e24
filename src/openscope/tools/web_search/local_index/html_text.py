"""HTML to plain text with the standard library's parser: the visible text of the body, the
`<title>`, and the canonical URL and publication date when the page states them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

# Content of these is never shown to a reader.
_HIDDEN = frozenset({"script", "style", "noscript", "template", "svg", "iframe", "object"})
# These end a line of text; without breaks, words of adjacent blocks would run together.
_BLOCKS = frozenset(
    {
        "p", "div", "br", "li", "ul", "ol", "tr", "td", "th", "table", "section", "article",
        "header", "footer", "nav", "aside", "main", "h1", "h2", "h3", "h4", "h5", "h6",
        "pre", "blockquote", "hr", "dt", "dd", "figcaption", "form",
    }
)  # fmt: skip
_VOID = frozenset({"br", "hr", "img", "meta", "link", "input", "area", "base", "col", "wbr"})
_DATE_METAS = frozenset({"article:published_time", "date", "dc.date", "pubdate", "publish-date"})
_SPACES = re.compile(r"[ \t\r\f\v]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")


@dataclass(frozen=True, slots=True)
class HtmlText:
    title: str
    text: str
    canonical_url: str | None
    published: str | None


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title_parts: list[str] = []
        self.canonical_url: str | None = None
        self.published: str | None = None
        self._hidden_depth = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name.lower(): value or "" for name, value in attrs}
        if tag == "title":
            self._in_title = True
        elif tag == "link" and "canonical" in attributes.get("rel", "").lower().split():
            self.canonical_url = self.canonical_url or attributes.get("href") or None
        elif tag == "meta":
            self._meta(attributes)
        if tag in _HIDDEN and tag not in _VOID:
            self._hidden_depth += 1
        if tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        if tag in _HIDDEN and self._hidden_depth:
            self._hidden_depth -= 1
        if tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title_parts.append(data)
        elif not self._hidden_depth:
            self.parts.append(data)

    def _meta(self, attributes: dict[str, str]) -> None:
        key = (attributes.get("property") or attributes.get("name") or "").lower()
        content = attributes.get("content", "").strip()
        if not content:
            return
        if key == "og:url":
            self.canonical_url = self.canonical_url or content
        elif key in _DATE_METAS:
            self.published = self.published or content


def html_to_text(html: str) -> HtmlText:
    """The readable text of an HTML document, one block per line."""
    collector = _TextCollector()
    collector.feed(html)
    collector.close()
    lines = (_SPACES.sub(" ", line).strip() for line in "".join(collector.parts).split("\n"))
    text = _BLANK_LINES.sub("\n", "\n".join(line for line in lines if line)).strip()
    title = _SPACES.sub(" ", "".join(collector.title_parts)).strip()
    return HtmlText(title, text, collector.canonical_url, collector.published)
