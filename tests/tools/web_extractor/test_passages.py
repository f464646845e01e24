"""The deterministic evidence and summary: chosen from the page, never written."""

from __future__ import annotations

from openscope.tools.web_extractor import evidence, summary
from openscope.tools.web_extractor.passages import blocks, terms

PAGE = """# Tidal power

The Bay of Fundy has the highest tides in the world.

## Turbines

Turbines sit on the sea floor and turn with the current.

## Costs

The main obstacles are cost and durability of the turbines.

## Fish

Researchers tag fish near the turbine area."""


def test_terms_drop_stop_words_and_plural_s_and_pair_cjk_characters() -> None:
    assert terms("What are the COSTS of tidal turbines?") == {"cost", "tidal", "turbine"}
    assert terms("glass") == {"glass"}
    assert terms("云服务器") == {"云服", "服务", "务器"}
    assert terms("the of and") == set()


def test_blocks_know_their_heading() -> None:
    page = blocks(PAGE)
    assert [b.text[:9] for b in page][:3] == ["# Tidal p", "The Bay o", "## Turbin"]
    assert page[1].heading == 0
    assert page[3].heading == 2
    assert page[0].heading is None


def test_evidence_is_the_matching_passages_in_page_order_under_their_headings() -> None:
    chosen = evidence(PAGE, "What does it cost?", 1000)
    assert chosen == "## Costs\n\nThe main obstacles are cost and durability of the turbines."


def test_rarer_goal_words_rank_first_when_the_budget_is_short() -> None:
    # "turbine" is in three blocks, "durability" in one: the durability block wins the room.
    chosen = evidence(PAGE, "turbine durability", 80)
    assert chosen == "## Costs\n\nThe main obstacles are cost and durability of the turbines."


def test_evidence_is_the_pages_opening_when_no_goal_word_matches() -> None:
    chosen = evidence(PAGE, "volcanoes in Iceland", 90)
    assert chosen == "# Tidal power\n\nThe Bay of Fundy has the highest tides in the world."


def test_evidence_never_exceeds_its_budget() -> None:
    long_page = "\n\n".join(f"Paragraph {i} about tidal turbines. " * 20 for i in range(200))
    for budget in (1, 50, 700, 5000):
        assert len(evidence(long_page, "tidal turbines", budget)) <= budget


def test_a_single_block_longer_than_the_budget_is_cut_with_an_ellipsis() -> None:
    chosen = evidence("word " * 100, "word", 40)
    assert chosen.endswith("…")
    assert len(chosen) <= 40
    assert chosen.startswith("word word")


def test_evidence_of_an_empty_page_is_empty() -> None:
    assert evidence("", "anything", 500) == ""


def test_summary_is_the_title_and_lead_cut_at_a_sentence_end() -> None:
    lead = "First sentence here. Second sentence is longer than the rest of it. Third."
    assert summary("Title", lead, 1000) == f"Title: {lead}"
    assert summary("Title", lead, 40) == "Title: First sentence here."
    assert summary(None, lead, 30) == "First sentence here."
    assert summary("Only a title", "", 100) == "Only a title"


def test_summary_skips_headings_for_the_lead() -> None:
    assert summary(None, PAGE, 200) == "The Bay of Fundy has the highest tides in the world."


def test_chinese_goals_match_chinese_passages() -> None:
    page = (
        "## 云服务器\n\n弹性计算服务提供按需付费的云服务器实例。"
        "\n\n## 数据库\n\n云数据库提供托管服务。"
    )
    assert evidence(page, "介绍云数据库", 1000) == "## 数据库\n\n云数据库提供托管服务。"
