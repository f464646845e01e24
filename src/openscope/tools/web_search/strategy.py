"""`search_options.search_strategy`: what each strategy means for the search the server runs.

Model Studio documents the strategies only in words [ZH-WS, ZH-CHAT]: `turbo` balances speed
and quality, `max` searches several engines, `agent` does several rounds of search and model
reasoning, `agent_max` adds reading the pages found (web extraction). It gives no numbers but
"typically 8-10" results per search. The numbers below are ours, chosen to match those words:

| strategy  | results per round | rounds at most | reads pages | freshness / sites | citations |
|-----------|-------------------|----------------|-------------|-------------------|-----------|
| turbo     | 10                | 1              | no          | yes               | yes       |
| max       | 20                | 1              | no          | no                | yes       |
| agent     | 10                | 3              | no          | no                | no        |
| agent_max | 10                | 5              | yes         | no                | no        |

`max` searches once but keeps twice the results (our providers are one engine each; more
results is the nearest we get to "several engines"). The agent strategies let the model search
again with a query of its own after reading the results, up to the round limit. Per Model
Studio, `freshness` and `assigned_site_list` work only with `turbo`, and with the agent
strategies every search feature but `enable_source` is unavailable (so no citation markers).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import assert_never

from openscope.core.builtin_tools import SEARCH_ROUNDS


class SearchStrategy(StrEnum):
    TURBO = "turbo"
    MAX = "max"
    AGENT = "agent"
    AGENT_MAX = "agent_max"


DEFAULT_STRATEGY = SearchStrategy.TURBO


@dataclass(frozen=True, slots=True)
class SearchPlan:
    """How the tool loop searches under one strategy."""

    strategy: SearchStrategy
    results_per_round: int
    max_rounds: int
    reads_pages: bool
    honours_filters: bool
    honours_citations: bool


def parse_strategy(value: str | None) -> SearchStrategy:
    """The strategy a client named (None: the default, `turbo`); ValueError naming the
    accepted values for anything else."""
    if value is None:
        return DEFAULT_STRATEGY
    try:
        return SearchStrategy(value)
    except ValueError:
        accepted = ", ".join(s.value for s in SearchStrategy)
        raise ValueError(f"search_strategy must be one of {accepted}; got {value!r}") from None


def plan_for(strategy: SearchStrategy) -> SearchPlan:
    """The plan a strategy implies (see the module docstring's table; the rounds are the
    core's, which the tool loop holds each answer to)."""
    rounds = SEARCH_ROUNDS[strategy.value]
    match strategy:
        case SearchStrategy.TURBO:
            return SearchPlan(
                strategy, 10, rounds, False, honours_filters=True, honours_citations=True
            )
        case SearchStrategy.MAX:
            return SearchPlan(
                strategy, 20, rounds, False, honours_filters=False, honours_citations=True
            )
        case SearchStrategy.AGENT:
            return SearchPlan(
                strategy, 10, rounds, False, honours_filters=False, honours_citations=False
            )
        case SearchStrategy.AGENT_MAX:
            return SearchPlan(
                strategy, 10, rounds, True, honours_filters=False, honours_citations=False
            )
        case _ as unreachable:
            assert_never(unreachable)
