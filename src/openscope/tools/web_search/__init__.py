"""Web search: the providers behind `enable_search` / `search_options` (Chat) and the
`web_search` tool (Responses), and what the tool loop needs around them.

The API the tool loop calls::

    plan = plan_for(parse_strategy(options.get("search_strategy")))   # ValueError: bad name
    query = SearchQuery(
        text,                                   # the model's (or the user's) query
        max_results=plan.results_per_round,
        freshness_days=freshness if plan.honours_filters else None,
        sites=tuple(assigned_site_list) if plan.honours_filters else (),  # <= 25
    )
    results = await provider.search(query)      # list[SearchResult]; raises SearchFailed only
    ...                                         # up to plan.max_rounds rounds, then
    results = merge_rounds([round1, round2])    # one list, deduplicated, numbered 1..n
    context = format_for_model(results, cite=..., citation_format="[ref_<number>]")

`SearchFailed.message` is what the model and the client are told when a search fails.

`WebSearchRunner(provider)` does all of the above for one call as the tool loop's
`BuiltinToolRunner` (`core.tool_runner`): function `web_search(query)`, one round per call.
Each result has what the wire needs: `index`, `title`, `url`, `site_name`, `icon` for
`search_info.search_results[]`, `url` for Responses `action.sources[]`.

`WebSearchImageRunner(provider)` runs `web_search_image(queries)` through the provider's
image results (`search_images`, when it is an `ImageSearchProvider`; both providers here are).
`ImageSearchRunner(provider)` runs `image_search(img_idx, bbox)`: the request's own model
describes the input image's region (`ToolContext.describe`), and its words are searched the
same way.

Providers (each a `SearchProvider`):

* `SearxngProvider(base_url, *, timeout=10.0, max_response_bytes=2 MiB, session=None)`: a
  SearXNG instance's JSON API; `await provider.aclose()` when done (closes its own session).
* `LocalIndexProvider(db_path)`: an SQLite FTS5 index made by
  `build_index(source, db_path) -> BuildReport` from a folder (.md, .txt, .html, .jsonl) or
  a JSONL file; run `build_index` again to refresh it (only changed files are read). It
  blocks: from async code call it through `asyncio.to_thread`.
"""

from openscope.core.builtin_tools import MAX_ASSIGNED_SITES
from openscope.tools.web_search.image_runner import WebSearchImageRunner
from openscope.tools.web_search.image_search_runner import ImageSearchRunner
from openscope.tools.web_search.images import ImageResult, ImageSearchProvider
from openscope.tools.web_search.local_index import BuildReport, LocalIndexProvider, build_index
from openscope.tools.web_search.model import (
    SearchFailed,
    SearchProvider,
    SearchQuery,
    SearchResult,
    merge_rounds,
    numbered,
)
from openscope.tools.web_search.render import citation_marker, format_for_model
from openscope.tools.web_search.runner import WebSearchRunner
from openscope.tools.web_search.searxng import SearxngProvider
from openscope.tools.web_search.strategy import (
    SearchPlan,
    SearchStrategy,
    parse_strategy,
    plan_for,
)

__all__ = [
    "MAX_ASSIGNED_SITES",
    "BuildReport",
    "ImageResult",
    "ImageSearchProvider",
    "ImageSearchRunner",
    "LocalIndexProvider",
    "SearchFailed",
    "SearchPlan",
    "SearchProvider",
    "SearchQuery",
    "SearchResult",
    "SearchStrategy",
    "SearxngProvider",
    "WebSearchImageRunner",
    "WebSearchRunner",
    "build_index",
    "citation_marker",
    "format_for_model",
    "merge_rounds",
    "numbered",
    "parse_strategy",
    "plan_for",
]
