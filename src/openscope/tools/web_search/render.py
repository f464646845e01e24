"""Search results as the model reads them.

Model Studio does not publish its injection template. What is known [ZH-WS, spec §1.2]: the
results reach the model as context (a query like "杭州天气" grows from 10 to ~1950 input tokens),
the model then speaks of them as its "knowledge base" ("根据知识库…"), and with citations on it
writes `[ref_N]` markers whose N is the result's `index` (1-based). So the results go in as one
knowledge block, each headed by the marker the model should cite it with, in the order and
numbering of `search_info.search_results[]`. Without citations the same block is used; the
markers then only keep results apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from openscope.tools.web_search.model import SearchResult

NO_RESULTS = "The web search returned no results."
# Model Studio's default `citation_format`, and its alternative [ZH-WS].
CITATION_NUMBER = "[<number>]"
CITATION_REF = "[ref_<number>]"


def citation_marker(index: int, citation_format: str = CITATION_REF) -> str:
    """The marker citing result `index` in a `citation_format` (`[<number>]` or
    `[ref_<number>]`)."""
    return citation_format.replace("<number>", str(index))


def format_for_model(
    results: Sequence[SearchResult],
    *,
    citation_format: str = CITATION_REF,
    cite: bool = False,
) -> str:
    """The text injected into the model's context for `results`. With `cite`, it is told to
    mark what it takes from result N with the marker `citation_format` gives for N."""
    if not results:
        return NO_RESULTS
    blocks = [result_text(result, citation_format) for result in results]
    head = "# Web search results\n\nThe following was found on the web for this request."
    if cite:
        example = citation_marker(1, citation_format)
        head += (
            " When the answer uses a result, cite it right after the sentence with the"
            f" result's marker, e.g. {example}."
        )
    return head + "\n\n" + "\n\n".join(blocks)


def result_text(result: SearchResult, citation_format: str = CITATION_REF) -> str:
    """One result as the model reads it: its marker and title, its source, its date, its
    snippet."""
    lines = [f"{citation_marker(result.index, citation_format)} {result.title}"]
    lines.append(
        f"Source: {result.site_name} ({result.url})"
        if result.site_name
        else f"Source: {result.url}"
    )
    if result.published is not None:
        lines.append(f"Published: {_date(result.published)}")
    if result.snippet:
        lines.append(result.snippet)
    return "\n".join(lines)


def _date(moment: datetime) -> str:
    return moment.date().isoformat()
