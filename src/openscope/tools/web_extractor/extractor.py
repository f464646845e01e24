"""`WebExtractor`: fetch a call's URLs, extract their text, fill Model Studio's template."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from openscope.tools.fetch import Fetcher, FetchError
from openscope.tools.web_extractor.page_text import PageText, page_text
from openscope.tools.web_extractor.template import (
    OutputLimits,
    failure_section,
    join_sections,
    page_section,
)


@dataclass(frozen=True)
class PageReport:
    """What happened to one URL of a call."""

    url: str
    title: str | None = None
    error: str | None = None  # why the page could not be read; None when it was
    truncated: bool = False  # the page was longer than the fetcher's size cap


@dataclass(frozen=True)
class ExtractorResult:
    output: str  # the `web_extractor_call.output` text
    pages: tuple[PageReport, ...]

    @property
    def ok(self) -> bool:
        """At least one URL was read: the call is `completed`, else `failed`."""
        return any(page.error is None for page in self.pages)


class WebExtractor:
    def __init__(self, fetcher: Fetcher, limits: OutputLimits | None = None) -> None:
        self.fetcher = fetcher
        self.limits = limits or OutputLimits()

    async def run(self, goal: str, urls: Sequence[str]) -> ExtractorResult:
        """Fetch each URL (concurrently), extract its text and fill one section per URL.

        Never raises for a bad URL or page: the reason is in that URL's section and report.
        """
        wanted = list(dict.fromkeys(url.strip() for url in urls if url.strip()))
        if not wanted:
            return ExtractorResult("No URL was given to extract from.", ())
        taken = wanted[: self.limits.max_urls]
        outcomes = await asyncio.gather(*(self._read(url) for url in taken))
        budget = self.limits.section_budget(len(taken))
        sections: list[str] = []
        reports: list[PageReport] = []
        for url, outcome in zip(taken, outcomes, strict=True):
            if isinstance(outcome, str):
                sections.append(failure_section(url, goal, outcome, self.limits, budget))
                reports.append(PageReport(url, error=outcome))
            else:
                sections.append(page_section(url, goal, outcome, self.limits, budget))
                reports.append(PageReport(url, outcome.title, truncated=outcome.truncated))
        skipped = f"not fetched: more than {self.limits.max_urls} URLs in one call"
        reports += [PageReport(url, error=skipped) for url in wanted[self.limits.max_urls :]]
        return ExtractorResult(join_sections(sections), tuple(reports))

    async def _read(self, url: str) -> PageText | str:
        """The page's text, or the reason it could not be had."""
        try:
            page = await self.fetcher.fetch(url)
        except FetchError as exc:
            return exc.reason
        try:
            return await asyncio.to_thread(page_text, page)
        except Exception as exc:
            # A parser failure on a hostile page must reach the model as a reason, like a
            # fetch failure, not escape the tool loop.
            return f"could not extract text: {type(exc).__name__}: {exc}"
