"""A fetched page as readable markdown and its title (trafilatura for HTML).

trafilatura drops the boilerplate around the main content (navigation, sidebars, footers,
cookie banners) and renders what is left as markdown, headings included; its metadata extractor
gives the title (from `<title>`, Open Graph or the first heading). Plain-text and markdown
responses are taken as they are. This is CPU work: the async API runs it in a thread.
"""

from __future__ import annotations

from dataclasses import dataclass

import trafilatura

from openscope.tools.fetch import FetchedPage

_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})


@dataclass(frozen=True)
class PageText:
    url: str  # the page's final URL (after redirects)
    title: str | None
    markdown: str  # "" when the page has no readable main text
    truncated: bool  # the body was cut at the fetcher's size cap before extraction


def page_text(page: FetchedPage) -> PageText:
    """The readable text of a fetched page; never raises for odd HTML (empty text instead)."""
    if page.content_type in _HTML_TYPES:
        title, markdown = _from_html(page)
    else:
        title, markdown = None, page.text().strip()
    return PageText(page.final_url, title, markdown, page.truncated)


def _from_html(page: FetchedPage) -> tuple[str | None, str]:
    # With a declared charset decode here; without one trafilatura sniffs the bytes (<meta>).
    html: str | bytes = page.text() if page.charset else page.body
    tree = trafilatura.load_html(html)
    if tree is None:  # nothing parseable
        return None, ""
    title = trafilatura.extract_metadata(tree, default_url=page.final_url).title
    markdown = trafilatura.extract(
        html,
        url=page.final_url,
        output_format="markdown",
        include_formatting=True,  # headings as "#", emphasis, lists
        include_tables=True,
        include_links=False,  # link targets are noise for a reader of the evidence
        include_images=False,
        include_comments=False,
    )
    return (title.strip() or None) if title else None, (markdown or "").strip()
