"""`FileSearchRunner`: file search as the tool loop runs it (`core.tool_runner`).

One call searches the vector stores the request's `file_search` tool names, and only
those, in the caller's workspace (`ToolContext.workspace`), through `KnowledgeSearch`.
The model writes its `queries` (Model Studio's item shows them: the question rephrased,
its keywords, a translation); a call that writes none searches for the user's latest
question (`ToolContext.question`). The tool's options are the request's:
`max_num_results`, `filters`, `ranking_options.score_threshold`.

The outcome's `output` is the JSON of the Responses `file_search_call` item's own fields
(builtin-tools.md §3.6) plus the number the first result is cited by::

    {"queries": ["..."], "results": [{"file_id", "filename", "score", "text",
     "attributes"?}], "first_index": 1}

A search that fails (a store missing or another workspace's, the index unable to search)
is a failed outcome with an `error` and empty `results`, which the model reads too.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from openscope.core.builtin_tools import BuiltinTool, BuiltinToolKind, FileSearch
from openscope.core.errors import OpenScopeError
from openscope.core.knowledge import (
    DEFAULT_SEARCH_RESULTS,
    KnowledgeSearch,
    SearchHit,
    SearchQuery,
)
from openscope.core.messages import BuiltinResultPart
from openscope.core.request import ToolSpec
from openscope.core.tool_runner import ToolContext, ToolOutcome
from openscope.tools.file_search.render import format_for_model, output_json, quoted

FUNCTION_NAME = "file_search"
DESCRIPTION = (
    "Search the documents the user provided (their knowledge base) for passages relevant "
    "to the question. Returns numbered passages with the name of the file each comes from. "
    "Use it before answering a question the documents may cover."
)
MAX_QUERIES = 5
# A query is a question or a few keywords; the user's question, searched for when the
# model writes none, is cut to this too (an embedding model reads a few hundred tokens).
MAX_QUERY_CHARS = 1000
PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "queries": {
            "type": "array",
            "description": (
                "What to search for: the user's question, rephrased or as keywords, "
                "possibly in the documents' language too. Left out, the user's question "
                "is searched for."
            ),
            "items": {"type": "string", "maxLength": MAX_QUERY_CHARS},
            "minItems": 1,
            "maxItems": MAX_QUERIES,
        }
    },
}


class FileSearchRunner:
    """Runs `file_search` calls against the server's vector stores."""

    def __init__(self, knowledge: KnowledgeSearch) -> None:
        self.knowledge = knowledge

    @property
    def kind(self) -> BuiltinToolKind:
        return BuiltinToolKind.FILE_SEARCH

    def function(self, spec: BuiltinTool) -> ToolSpec:
        return ToolSpec(FUNCTION_NAME, DESCRIPTION, PARAMETERS)

    async def run(
        self, spec: BuiltinTool, arguments: dict[str, Any], context: ToolContext
    ) -> ToolOutcome:
        first = next_file_index(context.earlier)
        if not isinstance(spec, FileSearch):
            return _failed((), first, f"file_search cannot run a {spec.kind} tool.")
        queries, problem = _queries(arguments.get("queries"), context.question)
        if problem is not None:
            return _failed(queries, first, problem)
        query = SearchQuery(
            queries,
            max_num_results=spec.max_num_results or DEFAULT_SEARCH_RESULTS,
            filters=spec.filters,
            score_threshold=spec.score_threshold or 0.0,
        )
        try:
            hits = await self.knowledge.search_stores(
                context.workspace, spec.vector_store_ids, query
            )
        except OpenScopeError as error:
            return _failed(queries, first, f"The file search failed: {error.message}")
        return ToolOutcome(
            for_model=format_for_model(queries, hits, first),
            output=output_json(queries, hits, first),
        )

    async def check(self, spec: BuiltinTool, workspace: str) -> None:
        """Refuse the request before it generates when a store it names is missing or
        another workspace's (a 404, as the Vector Stores API answers for that id)."""
        if isinstance(spec, FileSearch):
            await self.knowledge.check_stores(workspace, spec.vector_store_ids)

    def recall(self, result: BuiltinResultPart) -> str:
        """An earlier search as the model read it: its queries and its numbered results
        (all of it is kept in the item), or why it failed."""
        return recall_search(result)


def _queries(value: object, question: str | None) -> tuple[tuple[str, ...], str | None]:
    """The queries to search for, and what is wrong with the model's (None: nothing)."""
    if value is None or value == []:
        if question is None:
            return (), "The file_search call needs `queries`: the user asked nothing to search."
        return (question[:MAX_QUERY_CHARS],), None
    if isinstance(value, str):
        value = [value]  # one query written as a string: meant as itself
    if not isinstance(value, list) or not all(isinstance(q, str) for q in value):
        return (), "The file_search `queries` must be a list of strings."
    queries = tuple(q.strip() for q in value if q.strip())
    if not queries:
        return _queries(None, question)
    if len(queries) > MAX_QUERIES:
        return queries[:MAX_QUERIES], f"Search with at most {MAX_QUERIES} queries at once."
    if any(len(q) > MAX_QUERY_CHARS for q in queries):
        cut = tuple(q[:MAX_QUERY_CHARS] for q in queries)
        return cut, f"A query is longer than {MAX_QUERY_CHARS} characters: shorten it."
    return queries, None


def _failed(queries: Sequence[str], first: int, message: str) -> ToolOutcome:
    return ToolOutcome(
        for_model=message, output=output_json(queries, (), first, error=message), status="failed"
    )


def _searched(result: BuiltinResultPart) -> dict[str, Any] | None:
    """A completed or failed file search's output, when it is a JSON object."""
    try:
        data = json.loads(result.output)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _first_index(data: dict[str, Any]) -> int:
    """The number the output's first result is cited by (1 for an item without it: one a
    client wrote)."""
    value = data.get("first_index")
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 1


def _hits(data: dict[str, Any]) -> list[SearchHit]:
    found = data.get("results")
    hits: list[SearchHit] = []
    for entry in found if isinstance(found, list) else ():
        if not isinstance(entry, dict):
            continue
        score = entry.get("score")
        hits.append(
            SearchHit(
                file_id=str(entry.get("file_id") or ""),
                filename=str(entry.get("filename") or entry.get("file_id") or ""),
                score=float(score) if isinstance(score, int | float) else 0.0,
                text=str(entry.get("text") or ""),
            )
        )
    return hits


def next_file_index(earlier: Sequence[BuiltinResultPart]) -> int:
    """One past the highest number the earlier file searches' results are cited by (1
    with none): each marker in the model's context names one result."""
    highest = 0
    for result in earlier:
        if result.tool is not BuiltinToolKind.FILE_SEARCH:
            continue
        data = _searched(result)
        if data is None:
            continue
        found = data.get("results")
        count = len(found) if isinstance(found, list) else 0
        highest = max(highest, _first_index(data) + count - 1)
    return highest + 1


def recall_search(result: BuiltinResultPart) -> str:
    data = _searched(result)
    if data is None:
        return "The file search left no readable result."
    raw = data.get("queries")
    queries = [q for q in raw if isinstance(q, str)] if isinstance(raw, list) else []
    error = data.get("error")
    if result.status == "failed":
        what = f" for {quoted(queries)}" if queries else ""
        reason = error if isinstance(error, str) and error else "it failed"
        return f"The file search{what} found nothing: {reason}"
    return format_for_model(queries, _hits(data), _first_index(data))
