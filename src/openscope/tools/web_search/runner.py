"""`WebSearchRunner`: web search as the tool loop runs it (`core.tool_runner`).

One call is one search round: the model's `query`, under the request's `search_options`
(its strategy's results per round; `freshness` and `assigned_site_list` only where the
strategy honours them; citation markers only where it honours citations). The agent
strategies' several rounds are the loop's: it lets the model call again, up to the plan's
`max_rounds`.

The outcome's `output` is the JSON of the Responses `web_search_call` item's own fields
(builtin-tools.md §3.2)::

    {"action": {"type": "search", "query": "...", "sources": [{"type": "url", "url": "..."}]},
     "search_results": [{"index": 1, "title": ..., "url": ..., "site_name": ..., "icon": ...}]}

Sources carry no title: Model Studio's items have none. `search_results` is not an item
field: it keeps what Model Studio's native `search_info.search_results[]` shows (for Chat's
`enable_source`), which the Responses encoder leaves out. `results_read` keeps, per result,
what the model read of it (`url`, `title`, `published` as an ISO date or null, `content`:
the result's text as the model saw it), for Anthropic's `web_search_result` blocks. A
failed search also names why in `error_code` (a `core.builtin_tools.SearchFailure`).

Anthropic's web search adds, through `WebSearch`'s typed fields: `blocked_sites`, whose
results are dropped here before the model or the client sees them (the rest renumbered),
and `user_location`, told to the model in the function's description (no provider here
takes a location: the model can put the place in its query).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from openscope.core.builtin_tools import (
    CITATION_FORMATS,
    MAX_ASSIGNED_SITES,
    BuiltinTool,
    BuiltinToolKind,
    SearchFailure,
    WebSearch,
)
from openscope.core.messages import BuiltinResultPart
from openscope.core.request import ToolSpec
from openscope.core.tool_runner import ToolContext, ToolOutcome
from openscope.tools.web_search.model import (
    SearchFailed,
    SearchProvider,
    SearchQuery,
    SearchResult,
    numbered,
)
from openscope.tools.web_search.render import CITATION_NUMBER, format_for_model, result_text
from openscope.tools.web_search.sites import host_allowed, host_of, normalise_site
from openscope.tools.web_search.strategy import SearchPlan, parse_strategy, plan_for

FUNCTION_NAME = "web_search"
DESCRIPTION = (
    "Search the web for up-to-date information. Returns numbered results (title, source, "
    "date, snippet). Use it for recent events or facts you are unsure of; search again "
    "with a different query when the results do not answer the question."
)
MAX_QUERY_CHARS = 120
PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "query": {
            "type": "string",
            "description": "What to search for: a few keywords or a short question.",
            # A search query is short; bounded, a forced call (whose grammar follows this
            # schema) cannot spend the answer's tokens on a rambling one.
            "maxLength": MAX_QUERY_CHARS,
        }
    },
    "required": ["query"],
}
# Model Studio's `citation_format` values [ZH-WS]; the default is `[<number>]`.


class OptionsError(ValueError):
    """A `search_options` value this search cannot use; the message names it."""


class WebSearchRunner:
    """Runs `web_search` calls against one provider (SearXNG, the local index, ...)."""

    def __init__(self, provider: SearchProvider) -> None:
        self.provider = provider

    @property
    def kind(self) -> BuiltinToolKind:
        return BuiltinToolKind.WEB_SEARCH

    def function(self, spec: BuiltinTool) -> ToolSpec:
        location = spec.user_location if isinstance(spec, WebSearch) else None
        where = location.describe() if location is not None else ""
        if not where:
            return ToolSpec(FUNCTION_NAME, DESCRIPTION, PARAMETERS)
        # The user's location reaches the model here, so a query about "the weather" or "a
        # pharmacy near me" names the place (no provider here searches by location).
        description = f"{DESCRIPTION} The user is in {where}: search for local results there."
        return ToolSpec(FUNCTION_NAME, description, PARAMETERS)

    async def run(
        self, spec: BuiltinTool, arguments: dict[str, Any], context: ToolContext
    ) -> ToolOutcome:
        raw_query = arguments.get("query")
        if not isinstance(raw_query, str) or not raw_query.strip():
            shown = "" if not isinstance(raw_query, str) else raw_query
            return _failed(
                shown,
                "The web_search call needs a `query`: a non-empty string.",
                SearchFailure.INVALID_INPUT,
            )
        text = raw_query.strip()
        if len(text) > MAX_QUERY_CHARS:
            # Offered with a maxLength, but only a forced call is held to it by the grammar.
            return _failed(
                text[:MAX_QUERY_CHARS],
                f"The query is longer than {MAX_QUERY_CHARS} characters: search with a "
                "shorter one.",
                SearchFailure.QUERY_TOO_LONG,
            )
        options = spec.options if isinstance(spec, WebSearch) else {}
        try:
            plan = plan_for(parse_strategy(_optional_str(options, "search_strategy")))
            query = _query(text, plan, options)
            cite, citation_format = _citations(plan, options)
        except ValueError as exc:  # OptionsError, or a value SearchQuery refuses
            return _failed(
                text, f"The web search could not run: {exc}.", SearchFailure.INVALID_INPUT
            )
        try:
            results = await self.provider.search(query)
        except SearchFailed as exc:
            code = (
                SearchFailure.TOO_MANY_REQUESTS if exc.rate_limited else SearchFailure.UNAVAILABLE
            )
            return _failed(text, f"The web search failed: {exc.message}", code)
        if isinstance(spec, WebSearch) and spec.blocked_sites:
            results = _without_blocked(results, spec.blocked_sites)
        # Numbered on from the conversation's earlier searches: each [ref_N] in the model's
        # context names one result, whichever search found it.
        results = numbered(results, start=next_result_index(context.earlier))
        return ToolOutcome(
            for_model=format_for_model(results, cite=cite, citation_format=citation_format),
            output=_output(text, results, citation_format=citation_format),
        )

    def recall(self, result: BuiltinResultPart) -> str:
        """An earlier search as the model reads it again: its query and its numbered
        results (the snippets are not kept in the item)."""
        return recall_search(result)

    async def aclose(self) -> None:
        """Close the provider's connections, when it keeps any (SearXNG's session)."""
        close = getattr(self.provider, "aclose", None)
        if close is not None:
            await close()


def _query(text: str, plan: SearchPlan, options: dict[str, Any]) -> SearchQuery:
    freshness: int | None = None
    sites: tuple[str, ...] = ()
    if plan.honours_filters:
        value = options.get("freshness")
        if value is not None:
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise OptionsError(f"freshness must be a positive number of days; got {value!r}")
            freshness = value
        listed = options.get("assigned_site_list")
        if listed is not None:
            if not isinstance(listed, list) or not all(isinstance(s, str) for s in listed):
                raise OptionsError("assigned_site_list must be a list of site names")
            if len(listed) > MAX_ASSIGNED_SITES:
                raise OptionsError(f"assigned_site_list takes at most {MAX_ASSIGNED_SITES} sites")
            sites = tuple(listed)
    return SearchQuery(
        text, max_results=plan.results_per_round, freshness_days=freshness, sites=sites
    )


def _citations(plan: SearchPlan, options: dict[str, Any]) -> tuple[bool, str]:
    """Whether the model is asked for citation markers, and in which format. Model Studio
    inserts them only with `enable_citation` (which needs `enable_source`), and not under
    the agent strategies."""
    citation_format = _optional_str(options, "citation_format") or CITATION_NUMBER
    if citation_format not in CITATION_FORMATS:
        raise OptionsError(
            f"citation_format must be one of {', '.join(CITATION_FORMATS)}; got {citation_format!r}"
        )
    wanted = options.get("enable_citation") is True and options.get("enable_source") is True
    return wanted and plan.honours_citations, citation_format


def _optional_str(options: dict[str, Any], key: str) -> str | None:
    value = options.get(key)
    if value is not None and not isinstance(value, str):
        raise OptionsError(f"{key} must be a string; got {value!r}")
    return value


def next_result_index(earlier: Sequence[BuiltinResultPart]) -> int:
    """One past the highest result number of the earlier web searches (1 with none)."""
    highest = 0
    for result in earlier:
        if result.tool is not BuiltinToolKind.WEB_SEARCH or result.status != "completed":
            continue
        try:
            found = json.loads(result.output).get("search_results")
        except (ValueError, AttributeError):
            continue
        for entry in found if isinstance(found, list) else ():
            index = entry.get("index") if isinstance(entry, dict) else None
            if isinstance(index, int) and not isinstance(index, bool):
                highest = max(highest, index)
    return highest + 1


def _without_blocked(results: Sequence[SearchResult], blocked: Sequence[str]) -> list[SearchResult]:
    """The results from none of the `blocked` sites (or their subdomains), numbered anew so
    the model's markers stay 1..n."""
    sites = [site for site in (normalise_site(s) for s in blocked) if site]
    kept = [r for r in results if not (sites and host_allowed(host_of(r.url), sites))]
    return numbered(kept)


def _output(
    query: str,
    results: Sequence[SearchResult],
    *,
    citation_format: str = CITATION_NUMBER,
    failure: SearchFailure | None = None,
) -> str:
    sources = [{"type": "url", "url": result.url} for result in results]
    search_results = [
        {
            "index": r.index,
            "title": r.title,
            "url": r.url,
            "site_name": r.site_name,
            "icon": r.icon,
        }
        for r in results
    ]
    read = [
        {
            "url": r.url,
            "title": r.title,
            "published": r.published.date().isoformat() if r.published else None,
            "content": result_text(r, citation_format),
        }
        for r in results
    ]
    output: dict[str, Any] = {
        "action": {"type": "search", "query": query, "sources": sources},
        "search_results": search_results,
        "results_read": read,
    }
    if failure is not None:
        output["error_code"] = str(failure)
    return json.dumps(output, ensure_ascii=False)


def _failed(query: str, for_model: str, failure: SearchFailure) -> ToolOutcome:
    output = _output(query, (), failure=failure)
    return ToolOutcome(for_model=for_model, output=output, status="failed")


def recall_search(result: BuiltinResultPart) -> str:
    """An earlier search as the model read it: each result's text as it was given (kept in
    `results_read`), else its numbered titles and URLs (an item a client sent back)."""
    try:
        data = json.loads(result.output)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return "The web search left no readable result."
    action = data.get("action")
    query = action.get("query") if isinstance(action, dict) else None
    read = data.get("results_read")
    found = data.get("search_results")
    joint = "\n"
    if isinstance(read, list) and read:
        lines = [r["content"] for r in read if isinstance(r, dict) and "content" in r]
        joint = "\n\n"
    elif isinstance(found, list) and found:
        lines = [
            f"[{r.get('index')}] {r.get('title') or r.get('url')} ({r.get('url')})"
            for r in found
            if isinstance(r, dict)
        ]
    else:  # an item as Model Studio shows it: the sources' URLs only
        sources = action.get("sources") if isinstance(action, dict) else None
        urls = [s.get("url") for s in sources or () if isinstance(s, dict)]
        lines = [f"[{n}] {url}" for n, url in enumerate(urls, 1) if isinstance(url, str)]
    if result.status == "failed" or not lines:
        error = data.get("error") or data.get("error_code")
        what = f" for {query!r}" if isinstance(query, str) and query else ""
        return f"The web search{what} found nothing" + (f": {error}" if error else ".")
    head = f"Results of the web search for {query!r}:" if query else "Web search results:"
    return joint.join([head, *lines])
