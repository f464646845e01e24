from __future__ import annotations

import pytest

from openscope.core.builtin_tools import SEARCH_STRATEGIES
from openscope.tools.web_search import SearchStrategy, parse_strategy, plan_for


@pytest.mark.parametrize(
    ("strategy", "per_round", "rounds", "reads_pages", "filters", "citations"),
    [
        ("turbo", 10, 1, False, True, True),
        ("max", 20, 1, False, False, True),
        ("agent", 10, 3, False, False, False),
        ("agent_max", 10, 5, True, False, False),
    ],
)
def test_each_strategy_plan(
    strategy: str, per_round: int, rounds: int, reads_pages: bool, filters: bool, citations: bool
) -> None:
    plan = plan_for(parse_strategy(strategy))
    assert plan.strategy == strategy
    assert (plan.results_per_round, plan.max_rounds) == (per_round, rounds)
    assert (plan.reads_pages, plan.honours_filters, plan.honours_citations) == (
        reads_pages,
        filters,
        citations,
    )


def test_only_the_agent_strategies_search_more_than_once() -> None:
    several = {s for s in SearchStrategy if plan_for(s).max_rounds > 1}
    assert several == {SearchStrategy.AGENT, SearchStrategy.AGENT_MAX}


def test_turbo_is_the_default() -> None:
    assert parse_strategy(None) is SearchStrategy.TURBO


@pytest.mark.parametrize("value", ["fast", "TURBO", ""])
def test_an_unknown_strategy_names_the_accepted_ones(value: str) -> None:
    with pytest.raises(ValueError, match="turbo, max, agent, agent_max"):
        parse_strategy(value)


def test_the_strategies_are_the_ones_the_core_accepts() -> None:
    assert tuple(s.value for s in SearchStrategy) == SEARCH_STRATEGIES
