"""Built-in tools: tools the server runs itself, between model turns, as opposed to function
tools the client runs. A request names them with their options; the model's calls to them
and their results are parts of the answer (`BuiltinCallPart`, `BuiltinResultPart`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # knowledge imports state, which imports this module
    from openscope.core.knowledge import Filter


class BuiltinToolKind(StrEnum):
    """Model Studio's built-in tools; the value is the Responses API's tool `type`."""

    WEB_SEARCH = "web_search"
    WEB_EXTRACTOR = "web_extractor"
    CODE_INTERPRETER = "code_interpreter"
    WEB_SEARCH_IMAGE = "web_search_image"
    IMAGE_SEARCH = "image_search"
    FILE_SEARCH = "file_search"
    MCP = "mcp"


# Model Studio's `search_options` values (builtin-tools.md §1.1).
SEARCH_STRATEGIES = ("turbo", "max", "agent", "agent_max")
CITATION_FORMATS = ("[<number>]", "[ref_<number>]")
MAX_ASSIGNED_SITES = 25
DEFAULT_SEARCH_STRATEGY = "turbo"
# The searches one answer may make under each strategy. Model Studio documents them in
# words only: turbo and max search once, the agent strategies "several rounds of search
# and reasoning" (agent_max also reads the pages found). The numbers are ours.
SEARCH_ROUNDS = {"turbo": 1, "max": 1, "agent": 3, "agent_max": 5}
_FLAG_OPTIONS = ("forced_search", "enable_source", "enable_citation", "enable_search_extension")


def search_options_problem(options: Mapping[str, Any]) -> str | None:
    """What is wrong with chat's `search_options` (None: nothing), so that a bad value is
    refused when the request comes in, not found when the model first searches. Keys this
    does not know pass: Model Studio may have more than its documents name."""
    for flag in _FLAG_OPTIONS:
        if flag in options and not isinstance(options[flag], bool):
            return f"{flag} must be true or false"
    strategy = options.get("search_strategy")
    if strategy is not None and strategy not in SEARCH_STRATEGIES:
        return f"search_strategy must be one of {', '.join(SEARCH_STRATEGIES)}"
    citation_format = options.get("citation_format")
    if citation_format is not None and citation_format not in CITATION_FORMATS:
        return f"citation_format must be one of {', '.join(CITATION_FORMATS)}"
    freshness = options.get("freshness")
    if freshness is not None and (
        not isinstance(freshness, int) or isinstance(freshness, bool) or freshness < 1
    ):
        return "freshness must be a positive number of days"
    sites = options.get("assigned_site_list")
    if sites is not None:
        if not isinstance(sites, list) or not all(isinstance(site, str) for site in sites):
            return "assigned_site_list must be a list of site names"
        if len(sites) > MAX_ASSIGNED_SITES:
            return f"assigned_site_list takes at most {MAX_ASSIGNED_SITES} sites"
    return None


class SearchFailure(StrEnum):
    """Why a web search call failed, as its result's output names it (`error_code`), so an
    API that shows the reason (Anthropic's `web_search_tool_result_error`) can say it."""

    INVALID_INPUT = "invalid_input"  # no query, or options the search cannot use
    UNAVAILABLE = "unavailable"  # the provider failed (down, timed out, bad answer)
    TOO_MANY_REQUESTS = "too_many_requests"  # the provider refused: rate limited
    MAX_USES_EXCEEDED = "max_uses_exceeded"  # the request's `max_uses` calls were spent
    QUERY_TOO_LONG = "query_too_long"  # a query past the search's length limit


@dataclass(frozen=True, slots=True)
class UserLocation:
    """Where the user is, roughly (Anthropic's `user_location`), for local results. Every
    field is optional; `country` is a two-letter ISO code, `timezone` an IANA name."""

    city: str | None = None
    region: str | None = None
    country: str | None = None
    timezone: str | None = None

    def describe(self) -> str:
        """The location in words ("Hangzhou, Zhejiang, CN (time zone Asia/Shanghai)")."""
        place = ", ".join(p for p in (self.city, self.region, self.country) if p)
        zone = f"time zone {self.timezone}" if self.timezone else ""
        if place and zone:
            return f"{place} ({zone})"
        return place or zone


@dataclass(frozen=True, slots=True)
class WebSearch:
    """Search the web. `options` are chat's `search_options` (forced_search,
    search_strategy, freshness, assigned_site_list, ...), as the client sent them; the
    Responses API's web_search takes none. Anthropic's `web_search_20250305` sets the typed
    fields: `max_uses` (calls the model may make in one request; None: no limit of its
    own), `blocked_sites` (hosts whose results are never shown) and `user_location`; its
    `allowed_domains` go to `assigned_site_list`, and a `tool_choice` naming the tool to
    `forced_search`. `by_strategy` (chat): the searches an answer may make follow
    `search_options.search_strategy` (`SEARCH_ROUNDS`)."""

    options: dict[str, Any] = field(default_factory=dict)
    max_uses: int | None = None
    by_strategy: bool = False
    blocked_sites: tuple[str, ...] = ()
    user_location: UserLocation | None = None
    kind: BuiltinToolKind = field(default=BuiltinToolKind.WEB_SEARCH, init=False)

    @property
    def forced(self) -> bool:
        """Whether the model must search before it answers (`forced_search: true`)."""
        return self.options.get("forced_search") is True

    @property
    def strategy(self) -> str:
        value = self.options.get("search_strategy")
        return value if isinstance(value, str) else DEFAULT_SEARCH_STRATEGY

    @property
    def most_searches(self) -> int | None:
        """How many searches one answer may make (None: only the tool loop's rounds bound
        them): Anthropic's `max_uses`, else chat's strategy's rounds."""
        if self.max_uses is not None:
            return self.max_uses
        return SEARCH_ROUNDS.get(self.strategy) if self.by_strategy else None

    @property
    def reads_pages(self) -> bool:
        """Chat's `agent_max` strategy reads the pages it finds (the web extractor)."""
        return self.by_strategy and self.strategy == "agent_max"


@dataclass(frozen=True, slots=True)
class WebExtractor:
    """Read the pages a search found (Responses; needs web_search beside it)."""

    kind: BuiltinToolKind = field(default=BuiltinToolKind.WEB_EXTRACTOR, init=False)


@dataclass(frozen=True, slots=True)
class CodeInterpreter:
    """Run code the model writes in a sandbox (the server's own containers).

    `container_id`: the container the calls run in (OpenAI's `container` given as an id);
    None lets the server choose (the conversation's own). `auto_container`: the client
    sent `{"type": "auto"}`, kept to echo the tool as it was sent. `requires_thinking`:
    the API runs the tool in thinking mode only (Model Studio's Chat), so a request on a
    model that cannot think, or with thinking off, is refused."""

    container_id: str | None = None
    auto_container: bool = False
    requires_thinking: bool = False
    kind: BuiltinToolKind = field(default=BuiltinToolKind.CODE_INTERPRETER, init=False)


@dataclass(frozen=True, slots=True)
class ImageSearch:
    """Search images by text (`web_search_image`) or by an input image (`image_search`)."""

    kind: BuiltinToolKind = BuiltinToolKind.WEB_SEARCH_IMAGE

    def __post_init__(self) -> None:
        if self.kind not in (BuiltinToolKind.WEB_SEARCH_IMAGE, BuiltinToolKind.IMAGE_SEARCH):
            raise ValueError(f"{self.kind} is not an image search")


# The rankers OpenAI's `ranking_options.ranker` names. Here a search ranks its hits by
# fusing the vector and keyword rankings and nothing reranks them after: `auto` and
# `default-2024-11-15` are that ranking, `none` (no reranker) is exactly it too.
FILE_SEARCH_RANKERS = ("auto", "default-2024-11-15", "none")
# How the model cites a file search result in its answer: `[file_3]` names result 3 (the
# results of one conversation's searches are numbered on from search to search). The
# Responses encoder turns each marker of a result it has seen into a `file_citation`.
FILE_CITATION = re.compile(r"\[file_(\d{1,5})\]")


def file_citation_marker(index: int) -> str:
    """The marker citing file search result `index` (`[file_<index>]`)."""
    return f"[file_{index}]"


@dataclass(frozen=True, slots=True)
class FileSearch:
    """Search vector stores: only those named in `vector_store_ids`, in the caller's
    workspace (Model Studio takes one id, OpenAI two). OpenAI's options: `max_num_results`
    (None: the search's default), `filters` on the files' attributes, and
    `ranking_options`' `score_threshold` (hits below it are dropped; None: all kept) and
    `ranker` (one of `FILE_SEARCH_RANKERS`, kept as sent to be echoed)."""

    vector_store_ids: tuple[str, ...]
    max_num_results: int | None = None
    filters: Filter | None = None
    score_threshold: float | None = None
    ranker: str | None = None
    kind: BuiltinToolKind = field(default=BuiltinToolKind.FILE_SEARCH, init=False)


# Model Studio: "Maximum 10 MCP servers" in one request (builtin-tools.md §3.7).
MAX_MCP_SERVERS = 10
# How a request reaches an MCP server: Model Studio's "sse" (its only one), and the MCP
# specification's newer Streamable HTTP transport, named as the SDKs name it.
MCP_PROTOCOLS = ("sse", "streamable_http")


@dataclass(frozen=True, slots=True)
class McpApprovalPolicy:
    """Which of a server's tools need the client's approval before they run (OpenAI's
    `require_approval`). `default`: whether a tool named in neither list needs it;
    `always` / `never`: tool names that always / never need it. The default policy
    (nothing needs approval) is Model Studio's, which has no approvals and calls the
    tools at once; OpenAI's own default, "always", must be asked for."""

    default: bool = False
    always: tuple[str, ...] = ()
    never: tuple[str, ...] = ()

    def needed(self, tool: str) -> bool:
        if tool in self.never:
            return False
        return tool in self.always or self.default


@dataclass(frozen=True, slots=True)
class Mcp:
    """Call the tools of a remote MCP server. `server_protocol`: one of `MCP_PROTOCOLS`.
    `headers` go to the server with every request and are never kept with the turn nor
    shown in a repr (they may carry its credentials). `allowed_tools`: the server's tools
    the model is offered (None: all of them). The server's tools are offered to the model
    as functions named `<server_label>-<tool>` (Model Studio's names).

    `declared`: a server the server's settings declare, which a request names only by its
    label (chat's and Anthropic's `mcp_servers`); its URL, headers and tools are the
    settings', found when the tool loop starts (an unknown label is refused then)."""

    server_label: str
    server_url: str
    server_protocol: str = "sse"
    server_description: str | None = None
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    allowed_tools: tuple[str, ...] | None = None
    require_approval: McpApprovalPolicy = field(default_factory=McpApprovalPolicy)
    declared: bool = False
    kind: BuiltinToolKind = field(default=BuiltinToolKind.MCP, init=False)

    def allows(self, tool: str) -> bool:
        return self.allowed_tools is None or tool in self.allowed_tools


def declared_mcp_servers(labels: object) -> tuple[Mcp, ...]:
    """The servers a request names by label (`mcp_servers`, an extension of chat and
    Anthropic Messages), or a message saying what is wrong (raised as ValueError)."""
    if labels is None:
        return ()
    if not isinstance(labels, list) or not all(isinstance(x, str) and x for x in labels):
        raise ValueError("mcp_servers must be a list of server labels")
    if len(labels) > MAX_MCP_SERVERS:
        raise ValueError(f"mcp_servers takes at most {MAX_MCP_SERVERS} servers")
    if len(set(labels)) != len(labels):
        raise ValueError("mcp_servers names a server twice")
    return tuple(Mcp(label, "", declared=True) for label in labels)


BuiltinTool = WebSearch | WebExtractor | CodeInterpreter | ImageSearch | FileSearch | Mcp
