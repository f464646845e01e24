"""Model Studio's `web_extractor_call.output` text, bounded in size.

The template, verbatim from Model Studio's responses (builtin-tools.md §3.3)::

    The useful information in <url> for user goal <goal> as follows: \\n\\nEvidence in page: \\n
    <evidence>\\n\\nSummary: \\n<summary>

One section per URL, sections joined by a blank line.
"""

from __future__ import annotations

from dataclasses import dataclass

from openscope.tools.web_extractor.page_text import PageText
from openscope.tools.web_extractor.passages import clip, evidence, summary

HEAD = "The useful information in {url} for user goal {goal} as follows: \n\nEvidence in page: \n"
MIDDLE = "\n\nSummary: \n"
SECTION_SEPARATOR = "\n\n"
NO_TEXT = "No readable text was found on the page."


@dataclass(frozen=True)
class OutputLimits:
    """Size bounds of one call's `output` (characters, not tokens).

    Defaults: the whole output at most 12,000 characters (shared evenly by the sections of
    one call), a summary at most 600, the goal and each URL shown at most 1,000 each, and at
    most 5 URLs extracted per call (more are reported as not fetched).
    """

    max_chars: int = 12_000
    summary_chars: int = 600
    goal_chars: int = 1_000
    url_chars: int = 1_000
    max_urls: int = 5

    def __post_init__(self) -> None:
        if self.max_urls < 1:
            raise ValueError("max_urls must be >= 1")
        if min(self.summary_chars, self.goal_chars, self.url_chars) < 1:
            raise ValueError("summary_chars, goal_chars and url_chars must be >= 1")
        # Every section must have room for its frame, its goal and URL, and some text.
        frame = len(HEAD) + len(MIDDLE) + self.goal_chars + self.url_chars + 200
        if self.max_chars // self.max_urls < frame:
            raise ValueError(
                f"max_chars must leave each of max_urls sections at least {frame} characters"
            )

    def section_budget(self, sections: int) -> int:
        separators = len(SECTION_SEPARATOR) * (sections - 1)
        return (self.max_chars - separators) // max(1, sections)


# Room kept for the evidence and summary when the goal and URL have to be cut to fit.
_MIN_TEXT = 200


def _head(url: str, goal: str, limits: OutputLimits, budget: int) -> str:
    """The template's head with the URL and goal cut to their limits, and further (URL
    first) when the section's budget could not hold them and some text."""
    frame = len(HEAD.format(url="", goal="")) + len(MIDDLE)
    room = max(0, budget - frame - _MIN_TEXT)
    url_shown = clip(url, min(limits.url_chars, max(room // 2, room - len(goal))))
    goal_shown = clip(goal, min(limits.goal_chars, room - len(url_shown)))
    return HEAD.format(url=url_shown, goal=goal_shown)


def page_section(url: str, goal: str, page: PageText, limits: OutputLimits, budget: int) -> str:
    """The template filled from an extracted page, at most `budget` characters."""
    head = _head(url, goal, limits, budget)
    room = max(0, budget - len(head) - len(MIDDLE))
    if not page.markdown:
        tail = NO_TEXT if page.title is None else f"{page.title}: {NO_TEXT}"
        return _bounded(head + MIDDLE + clip(tail, room), budget)
    summary_text = summary(page.title, page.markdown, min(limits.summary_chars, room // 3))
    evidence_text = evidence(page.markdown, goal, room - len(summary_text))
    return _bounded(head + evidence_text + MIDDLE + summary_text, budget)


def failure_section(url: str, goal: str, reason: str, limits: OutputLimits, budget: int) -> str:
    """The template for a URL that could not be read: no evidence, the reason as summary."""
    head = _head(url, goal, limits, budget)
    room = max(0, budget - len(head) - len(MIDDLE))
    return _bounded(head + MIDDLE + clip(f"The page could not be read: {reason}", room), budget)


def _bounded(section: str, budget: int) -> str:
    # Only a budget below the bare frame gets here cut; OutputLimits never makes one.
    return section[:budget]


def join_sections(sections: list[str]) -> str:
    return SECTION_SEPARATOR.join(sections)
