from __future__ import annotations

from openscope.tools.web_search.local_index.html_text import html_to_text

PAGE = """<html><head><title> A  &amp; B </title>
<meta property="og:url" content="https://og.example/page">
<meta name="article:published_time" content="2025-06-01T10:00:00Z">
<style>p { x: 1 }</style></head>
<body><nav>Home</nav><script>alert("hidden")</script><noscript>enable js</noscript>
<h1>Heading</h1><p>First&nbsp;para<b>graph</b>.</p><p>Second   para.<br>New line</p>
<svg><text>vector</text></svg><ul><li>one</li><li>two</li></ul></body></html>"""


def test_visible_text_one_block_per_line() -> None:
    page = html_to_text(PAGE)
    assert page.text == "Home\nHeading\nFirst\xa0paragraph.\nSecond para.\nNew line\none\ntwo"


def test_title_url_and_date() -> None:
    page = html_to_text(PAGE)
    assert page.title == "A & B"
    assert page.canonical_url == "https://og.example/page"
    assert page.published == "2025-06-01T10:00:00Z"


def test_a_canonical_link_wins_over_og_url() -> None:
    page = html_to_text(
        '<link rel="alternate canonical" href="https://c.example/"><meta property="og:url"'
        ' content="https://og.example/">'
    )
    assert page.canonical_url == "https://c.example/"


def test_a_page_without_head_or_closing_tags() -> None:
    page = html_to_text("<p>unclosed <i>text<p>more")
    assert (page.title, page.text, page.canonical_url, page.published) == (
        "",
        "unclosed text\nmore",
        None,
        None,
    )
