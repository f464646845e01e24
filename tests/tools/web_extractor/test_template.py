"""Model Studio's output template, exactly, and its size bound."""

from __future__ import annotations

import pytest

from openscope.tools.web_extractor import OutputLimits, PageText, page_section
from openscope.tools.web_extractor.template import failure_section

LIMITS = OutputLimits()


def text(markdown: str, title: str | None = "Tides") -> PageText:
    return PageText("https://example.org/tides", title, markdown, truncated=False)


def test_the_template_shape_is_model_studios() -> None:
    page = text("# Tides\n\nTides rise twice a day. They fall twice too.\n\n## Other\n\nUnrelated.")
    output = page_section("https://example.org/tides", "when do tides rise", page, LIMITS, 5000)
    assert output == (
        "The useful information in https://example.org/tides for user goal when do tides rise"
        " as follows: \n\nEvidence in page: \n"
        "# Tides\n\nTides rise twice a day. They fall twice too."
        "\n\nSummary: \n"
        "Tides: Tides rise twice a day. They fall twice too."
    )


def test_a_page_without_text_says_so_in_the_summary() -> None:
    output = page_section("https://x.test/", "prices", text("", title="Loading…"), LIMITS, 5000)
    assert output == (
        "The useful information in https://x.test/ for user goal prices as follows: "
        "\n\nEvidence in page: \n\n\nSummary: \nLoading…: No readable text was found on the page."
    )


def test_a_failed_url_gives_its_reason_as_the_summary() -> None:
    output = failure_section("http://10.0.0.1/", "g", "10.0.0.1 is not allowed", LIMITS, 5000)
    assert output == (
        "The useful information in http://10.0.0.1/ for user goal g as follows: "
        "\n\nEvidence in page: \n\n\nSummary: \nThe page could not be read: 10.0.0.1 is not allowed"
    )


def test_the_section_stays_within_its_budget_whatever_the_page_goal_and_url() -> None:
    huge = "\n\n".join(f"## Part {i}\n\n" + "tide words and more words. " * 80 for i in range(300))
    goal = "tide " * 2000
    url = "https://example.org/" + "a" * 5000
    for budget in (1500, 4000, 12_000):
        output = page_section(url, goal, text(huge, title="T" * 3000), LIMITS, budget)
        assert len(output) <= budget
        assert output.startswith("The useful information in https://example.org/aaa")
        assert "…" in output[: LIMITS.url_chars + 40]  # the URL was cut
        assert " for user goal tide tide" in output
        evidence = output.split(" as follows: \n\nEvidence in page: \n")[1]
        evidence, summary = evidence.split("\n\nSummary: \n")
        assert "tide words and more words." in evidence  # the first part, maybe cut
        assert summary.startswith("TTT")


def test_limits_refuse_a_budget_too_small_for_the_sections() -> None:
    with pytest.raises(ValueError, match="max_chars"):
        OutputLimits(max_chars=3000, max_urls=5)
    with pytest.raises(ValueError, match="max_urls"):
        OutputLimits(max_urls=0)
    assert OutputLimits().section_budget(3) == (12_000 - 4) // 3
