from __future__ import annotations

from datetime import UTC, datetime

from openscope.tools.web_search import SearchResult, citation_marker, format_for_model
from openscope.tools.web_search.render import CITATION_NUMBER, NO_RESULTS

RESULTS = [
    SearchResult(
        index=1,
        title="Hangzhou weather",
        url="https://weather.example.com/hz",
        site_name="weather.example.com",
        snippet="Sunny, 18°C.",
        published=datetime(2026, 1, 30, 23, 0, tzinfo=UTC),
    ),
    SearchResult(
        index=2, title="Local notes", url="file:///srv/notes.md", site_name="", snippet=""
    ),
]


def test_results_become_one_numbered_knowledge_block() -> None:
    assert format_for_model(RESULTS) == (
        "# Web search results\n\n"
        "The following was found on the web for this request.\n\n"
        "[ref_1] Hangzhou weather\n"
        "Source: weather.example.com (https://weather.example.com/hz)\n"
        "Published: 2026-01-30\n"
        "Sunny, 18°C.\n\n"
        "[ref_2] Local notes\n"
        "Source: file:///srv/notes.md"
    )


def test_citations_ask_for_the_markers_in_the_requested_format() -> None:
    text = format_for_model(RESULTS, cite=True, citation_format=CITATION_NUMBER)
    assert "cite it right after the sentence with the result's marker, e.g. [1]." in text
    assert "\n\n[1] Hangzhou weather\n" in text
    assert "\n\n[2] Local notes\n" in text
    assert "[ref_" not in text


def test_numbers_are_the_results_own_indexes() -> None:
    renumbered = [RESULTS[1]]  # index 2 kept: it is the N of [ref_N] and search_results[].index
    assert "[ref_2] Local notes" in format_for_model(renumbered)


def test_no_results_is_said_plainly() -> None:
    assert format_for_model([]) == NO_RESULTS


def test_citation_marker() -> None:
    assert citation_marker(7) == "[ref_7]"
    assert citation_marker(7, "[<number>]") == "[7]"
