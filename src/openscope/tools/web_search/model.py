"""The data every search provider shares: what to search for, what came back, how it fails.

`SearchResult` carries exactly what the wire shapes need later: Model Studio's native
`search_info.search_results[]` (`index`, `title`, `url`, `site_name`, `icon`), the Responses
API's `action.sources[]` (`url`), and the text the model reads (`snippet`, `published`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol

from openscope.core.builtin_tools import MAX_ASSIGNED_SITES
from openscope.tools.web_search.sites import normalise_site

# Model Studio's cap on `search_options.assigned_site_list` [ZH-WS].
# A query asks for at most this many results; more is never useful in a model's context.
MAX_RESULTS_PER_QUERY = 50


class SearchFailed(Exception):
    """The one error a provider raises, whatever went wrong (timeout, refused connection,
    bad status, bad JSON, missing index): the tool loop turns it into a failed tool result
    the model and the client see."""

    def __init__(self, message: str, *, rate_limited: bool = False) -> None:
        super().__init__(message)
        self.message = message
        # The provider said "too many requests" (HTTP 429): a client told so may wait.
        self.rate_limited = rate_limited


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """One search: the text, how many results at most, only results published in the last
    `freshness_days` days (None: any age), and only results from `sites` (empty: any site;
    each a host name such as `example.com`, which also admits its subdomains)."""

    text: str
    max_results: int = 10
    freshness_days: int | None = None
    sites: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if not self.text.strip():
            raise ValueError("a search query needs some text")
        if not 1 <= self.max_results <= MAX_RESULTS_PER_QUERY:
            raise ValueError(f"max_results must be 1..{MAX_RESULTS_PER_QUERY}")
        if self.freshness_days is not None and self.freshness_days < 1:
            raise ValueError("freshness_days must be a positive number of days")
        if len(self.sites) > MAX_ASSIGNED_SITES:
            raise ValueError(f"at most {MAX_ASSIGNED_SITES} sites may be assigned")
        # Normalised once here so every provider compares hosts the same way.
        sites = tuple(dict.fromkeys(normalise_site(site) for site in self.sites))
        if any(not site for site in sites):
            raise ValueError("an assigned site must name a host")
        object.__setattr__(self, "sites", sites)


@dataclass(frozen=True, slots=True)
class SearchResult:
    """One hit. `index` is 1-based, the position in the list the model sees, and the N of
    its `[ref_N]` citation markers. `icon` is a favicon URL or "" (as on Model Studio when a
    site has none); `published` is timezone-aware, or None when the source gave no date."""

    index: int
    title: str
    url: str
    site_name: str
    snippet: str
    icon: str = ""
    published: datetime | None = None


class SearchProvider(Protocol):
    """What the tool loop calls. Implementations raise `SearchFailed` and nothing else."""

    async def search(self, query: SearchQuery) -> list[SearchResult]: ...


def numbered(results: Iterable[SearchResult], start: int = 1) -> list[SearchResult]:
    """The results renumbered from `start`, in order."""
    return [replace(result, index=start + i) for i, result in enumerate(results)]


def merge_rounds(rounds: Sequence[Sequence[SearchResult]]) -> list[SearchResult]:
    """Several search rounds (the agent strategies) as one list for the model: first
    occurrence of each URL kept, in round order, numbered 1..n so `[ref_N]` stays unique."""
    seen: set[str] = set()
    merged: list[SearchResult] = []
    for results in rounds:
        for result in results:
            if result.url not in seen:
                seen.add(result.url)
                merged.append(result)
    return numbered(merged)
