"""Readable text from fetched pages: the article kept, the boilerplate dropped, the title."""

from __future__ import annotations

from openscope.tools.fetch import FetchedPage
from openscope.tools.web_extractor import page_text
from tests.tools.web_extractor.conftest import fixture_html

BOILERPLATE = [
    "Subscribe to our newsletter",
    "Log in",
    "Ten gadgets you must buy",
    "Trending now",
    "Copyright 2026",
    "All rights reserved",
    "Privacy policy",
    "Cookie settings",
]


def fetched(
    body: bytes, content_type: str = "text/html", charset: str | None = "utf-8"
) -> FetchedPage:
    return FetchedPage(
        url="https://example.org/a",
        final_url="https://example.org/b",
        status=200,
        content_type=content_type,
        charset=charset,
        body=body,
        truncated=False,
    )


def test_the_article_is_kept_as_markdown_and_the_boilerplate_dropped() -> None:
    text = page_text(fetched(fixture_html("article.html")))
    assert text.title == "Tidal Power in the Bay of Fundy"
    assert text.url == "https://example.org/b"
    assert text.markdown.startswith("# Tidal Power in the Bay of Fundy\n\nThe Bay of Fundy,")
    assert "## How the turbines work" in text.markdown
    assert "## Costs and concerns" in text.markdown
    assert "subsea cables with a combined capacity of sixty-four megawatts." in text.markdown
    assert text.markdown.endswith("whether they avoid the rotating blades.")
    for phrase in BOILERPLATE:
        assert phrase not in text.markdown


def test_a_page_without_main_text_gives_empty_markdown_and_its_title() -> None:
    text = page_text(fetched(fixture_html("empty.html")))
    assert text.markdown == ""
    assert text.title == "Loading…"


def test_an_empty_body_gives_no_text_and_no_title() -> None:
    text = page_text(fetched(b""))
    assert (text.markdown, text.title) == ("", None)


def test_plain_text_is_taken_as_it_is() -> None:
    text = page_text(fetched(b"  Line one.\n\nLine <b>two</b>.\n", content_type="text/plain"))
    assert text.markdown == "Line one.\n\nLine <b>two</b>."
    assert text.title is None


def test_without_a_declared_charset_the_meta_charset_decodes() -> None:
    html = (
        '<html><head><meta charset="windows-1252"><title>Caf\xe9</title></head><body>'
        "<article><p>" + "Le caf\xe9 cr\xe8me est servi chaud chaque matin. " * 5 + "</p>"
        "</article></body></html>"
    ).encode("cp1252")
    text = page_text(fetched(html, charset=None))
    assert text.title == "Café"
    assert "Le café crème est servi chaud" in text.markdown


def test_the_truncation_mark_is_carried_over() -> None:
    page = fetched(fixture_html("article.html"))
    cut = FetchedPage(**{**page.__dict__, "truncated": True})
    assert page_text(cut).truncated is True
