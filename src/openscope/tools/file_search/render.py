"""File search results as the model reads them, and as the `file_search_call` item keeps
them.

Model Studio does not publish how its knowledge-base results reach the model; OpenAI's
model cites them with markers it strips. Here the results go in as one block, each headed
by the marker the model cites it with (`[file_N]`, `core.builtin_tools.file_citation_marker`)
and its file's name, then its text; the Responses encoder turns each marker in the answer
into a `file_citation` annotation naming that file. Results are numbered on from the
conversation's earlier file searches, so a marker names one result whichever search found
it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from openscope.core.builtin_tools import file_citation_marker
from openscope.core.knowledge import SearchHit

# Model Studio's item shows scores with four decimals (0.7519).
SCORE_DIGITS = 4


def quoted(queries: Sequence[str]) -> str:
    return "; ".join(json.dumps(q, ensure_ascii=False) for q in queries)


def format_for_model(queries: Sequence[str], hits: Sequence[SearchHit], first_index: int) -> str:
    """The tool's result as the model reads it: the queries, how to cite, the numbered
    results (marker, filename, text); or that nothing was found."""
    if not hits:
        return f"The file search found nothing for {quoted(queries)}."
    blocks = [
        f"{file_citation_marker(first_index + n)} {hit.filename}\n{hit.text}"
        for n, hit in enumerate(hits)
    ]
    head = (
        "# File search results\n\n"
        f"Found in the request's files for {quoted(queries)}. When the answer uses a "
        "result, cite it right after the sentence with the result's marker, e.g. "
        f"{file_citation_marker(first_index)}."
    )
    return head + "\n\n" + "\n\n".join(blocks)


def result_body(hit: SearchHit) -> dict[str, Any]:
    """One result as the item shows it (Model Studio's fields; OpenAI's `attributes` when
    the file has any)."""
    body: dict[str, Any] = {
        "file_id": hit.file_id,
        "filename": hit.filename,
        "score": round(hit.score, SCORE_DIGITS),
        "text": hit.text,
    }
    if hit.attributes:
        body["attributes"] = dict(hit.attributes)
    return body


def output_json(
    queries: Sequence[str],
    hits: Sequence[SearchHit],
    first_index: int,
    error: str | None = None,
) -> str:
    """The outcome's `output`: the item's fields (`queries`, `results`, and `error` when
    the search failed: never a silent `results: null`) and `first_index`, the number the
    first result is cited by (the encoder's key from markers to files)."""
    output: dict[str, Any] = {
        "queries": list(queries),
        "results": [result_body(hit) for hit in hits],
        "first_index": first_index,
    }
    if error is not None:
        output["error"] = error
    return json.dumps(output, ensure_ascii=False)
