"""Search through SearXNG, the self-hosted metasearch engine, over its JSON API.

`GET {base}/search?q=...&format=json&pageno=N[&time_range=day|week|month|year]`. The instance
must list `json` under `search.formats` in its settings.yml (it answers 403 otherwise).

Freshness maps to the coarsest `time_range` that still covers it (7 days -> week, 30 -> month,
180 and 365 -> year), and dated results older than the window are dropped too, since only
some engines honour `time_range`; undated results are kept (nothing says they are old).

Sites: both. The query gets `site:` operators (`site:a.com`, or `(site:a.com OR site:b.org)`),
which the big engines (Google, Bing, DuckDuckGo, Brave) understand, so they return results
from those sites instead of general ones that a filter would leave empty; and every result is
filtered by host afterwards, because SearXNG forwards the operator untouched and an engine
that does not understand it returns off-list results. The filter is the guarantee, the
operator is what makes the filter leave something.

Images (`search_images`, for web_search_image): the same endpoint with `categories=images`,
one page, read by `searxng_images`.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self

import aiohttp
import orjson

from openscope.tools.web_search.images import ImageResult
from openscope.tools.web_search.model import SearchFailed, SearchQuery, SearchResult, numbered
from openscope.tools.web_search.searxng_images import images_of
from openscope.tools.web_search.sites import host_allowed, host_of, site_name_of

# SearXNG returns about ten results a page, whatever is asked.
RESULTS_PER_PAGE = 10
# Pages fetched for one query at most (each is a full metasearch upstream).
MAX_PAGES = 3
DEFAULT_TIMEOUT_S = 10.0
# A page of results is tens of kilobytes; anything near this is not a results page.
DEFAULT_MAX_RESPONSE_BYTES = 2 * 1024 * 1024
_READ_CHUNK = 64 * 1024
# SearXNG reads leading `!bang`, `!!bang`, `:lang`, `<timeout` and `?` tokens as directives;
# the query is the model's or the client's words, so they are taken off.
_DIRECTIVE_PREFIX = "!:<?"
_SPACES = re.compile(r"\s+")
# Some engines put a whole page in `content`; the model needs a snippet, not the page.
MAX_SNIPPET_CHARS = 1000


def time_range_for(freshness_days: int | None) -> str | None:
    """SearXNG's `time_range` covering the last `freshness_days` days (None: no limit)."""
    if freshness_days is None:
        return None
    for days, name in ((1, "day"), (7, "week"), (31, "month"), (366, "year")):
        if freshness_days <= days:
            return name
    return None


def query_text_for(query: SearchQuery) -> str:
    """The `q` sent: the query without SearXNG directives, plus the site operators."""
    text = query.text.strip().lstrip(_DIRECTIVE_PREFIX + " \t\r\n")
    text = _SPACES.sub(" ", text)
    if not text:
        raise SearchFailed("the query has no words to search for")
    if len(query.sites) == 1:
        return f"{text} site:{query.sites[0]}"
    if query.sites:
        return f"{text} (" + " OR ".join(f"site:{site}" for site in query.sites) + ")"
    return text


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SearxngProvider:
    """A `SearchProvider` over one SearXNG instance. Give it a session to share a connection
    pool (it is then yours to close); without one it makes its own on first use, closed by
    `aclose()` (or `async with`)."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        session: aiohttp.ClientSession | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._search_url = base_url.rstrip("/") + "/search"
        self._timeout = timeout
        self._max_response_bytes = max_response_bytes
        self._session = session
        self._owns_session = session is None
        self._clock = clock

    async def search(self, query: SearchQuery) -> list[SearchResult]:
        q = query_text_for(query)
        oldest = (
            None
            if query.freshness_days is None
            else self._clock() - timedelta(days=query.freshness_days)
        )
        pages = min(MAX_PAGES, math.ceil(query.max_results / RESULTS_PER_PAGE))
        kept: list[SearchResult] = []
        seen: set[str] = set()
        try:
            # One deadline for the whole search, however many pages it takes.
            async with asyncio.timeout(self._timeout):
                for pageno in range(1, pages + 1):
                    body = await self._fetch(self._params(q, query, pageno))
                    raw = _raw_results(body, first_page=pageno == 1)
                    if not raw:
                        break
                    for item in raw:
                        result = _to_result(item)
                        if result is None or result.url in seen:
                            continue
                        seen.add(result.url)
                        if not host_allowed(host_of(result.url), query.sites):
                            continue
                        if oldest and result.published and result.published < oldest:
                            continue
                        kept.append(result)
                    if len(kept) >= query.max_results:
                        break
        except TimeoutError:
            raise SearchFailed(f"SearXNG did not answer within {self._timeout:g}s") from None
        except aiohttp.ClientError as exc:
            raise SearchFailed(f"SearXNG is unreachable: {exc}") from exc
        return numbered(kept[: query.max_results])

    async def search_images(self, query: SearchQuery) -> list[ImageResult]:
        """Images for `query` from SearXNG's `images` category (one page: an image page
        holds more results than a general one)."""
        params = {"q": query_text_for(query), "format": "json", "categories": "images"}
        try:
            async with asyncio.timeout(self._timeout):
                body = await self._fetch(params)
        except TimeoutError:
            raise SearchFailed(f"SearXNG did not answer within {self._timeout:g}s") from None
        except aiohttp.ClientError as exc:
            raise SearchFailed(f"SearXNG is unreachable: {exc}") from exc
        return images_of(_raw_results(body, first_page=True), query.max_results)

    def _params(self, q: str, query: SearchQuery, pageno: int) -> dict[str, str]:
        params = {"q": q, "format": "json", "pageno": str(pageno)}
        time_range = time_range_for(query.freshness_days)
        if time_range is not None:
            params["time_range"] = time_range
        return params

    async def _fetch(self, params: dict[str, str]) -> Any:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        headers = {"Accept": "application/json"}
        async with self._session.get(self._search_url, params=params, headers=headers) as resp:
            if resp.status != 200:
                hint = " (is `json` in its search.formats?)" if resp.status == 403 else ""
                raise SearchFailed(
                    f"SearXNG answered HTTP {resp.status}{hint}", rate_limited=resp.status == 429
                )
            body = await self._read_bounded(resp)
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            raise SearchFailed("SearXNG answered with something that is not JSON") from None

    async def _read_bounded(self, resp: aiohttp.ClientResponse) -> bytes:
        limit = self._max_response_bytes
        too_big = SearchFailed(f"SearXNG's answer is larger than {limit} bytes")
        if resp.content_length is not None and resp.content_length > limit:
            raise too_big
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.content.iter_chunked(_READ_CHUNK):
            size += len(chunk)
            if size > limit:
                raise too_big
            chunks.append(chunk)
        return b"".join(chunks)

    async def aclose(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def _raw_results(body: Any, *, first_page: bool) -> list[Any]:
    if not isinstance(body, dict) or not isinstance(body.get("results"), list):
        raise SearchFailed("SearXNG's answer has no `results` list")
    results: list[Any] = body["results"]
    unresponsive = body.get("unresponsive_engines")
    # No result because every engine failed is a failure, not an empty search.
    if first_page and not results and isinstance(unresponsive, list) and unresponsive:
        names = ", ".join(_engine_failure(entry) for entry in unresponsive)
        raise SearchFailed(f"no SearXNG engine answered: {names}")
    return results


def _engine_failure(entry: Any) -> str:
    if isinstance(entry, list) and len(entry) == 2:
        return f"{entry[0]} ({entry[1]})"
    return str(entry)


def _to_result(item: Any) -> SearchResult | None:
    """One SearXNG result, or None when it has no http(s) URL to show."""
    if not isinstance(item, dict):
        return None
    url = item.get("url")
    if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
        return None
    if not host_of(url):
        return None
    title = _clean(item.get("title")) or url
    return SearchResult(
        index=0,  # numbered once the list is final
        title=title,
        url=url,
        site_name=site_name_of(url),
        snippet=_shortened(_clean(item.get("content")), MAX_SNIPPET_CHARS),
        published=parse_published(item.get("publishedDate")),
    )


def _clean(value: Any) -> str:
    return _SPACES.sub(" ", value).strip() if isinstance(value, str) else ""


def _shortened(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def parse_published(value: Any) -> datetime | None:
    """An ISO 8601 date as SearXNG gives it (naive ones taken as UTC); None if unusable."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
