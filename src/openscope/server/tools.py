"""The built-in tools' runners, built from the `[tools]` settings, and their shutdown.

Only what is configured is built (nothing by default): web search from
`[tools.web_search]`, and beside it `web_search_image` and `image_search` when its provider
has image results (SearXNG's images category, the local index's images; `image_search`
runs only for routes whose backend sees images); `file_search` when the server keeps
vector stores (the knowledge service is given); the extractor with
`[tools.web_extractor] enabled` (settings refuse it without web search, which Model Studio
requires beside it), the code interpreter with `[tools.code_interpreter] enabled`, the MCP
client with `[tools.mcp] enabled`. The
lifespan closes them with `close_tool_runners` and has the chores call `expire_idle_tools`
every `EXPIRY_INTERVAL_SECONDS`.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol, runtime_checkable

from openscope.core.builtin_tools import BuiltinToolKind, Mcp
from openscope.core.knowledge import KnowledgeSearch
from openscope.core.tool_runner import BuiltinToolRunner
from openscope.server.chores import shutdown_step
from openscope.settings import (
    CodeInterpreterSettings,
    McpSettings,
    Settings,
    SettingsError,
    WebExtractorSettings,
    WebSearchSettings,
)
from openscope.tools.code_interpreter import CodeInterpreterRunner, Containers, SandboxPolicy
from openscope.tools.fetch import Fetcher, FetchPolicy, networks
from openscope.tools.file_search import FileSearchRunner
from openscope.tools.mcp import McpPolicy, McpToolRunner
from openscope.tools.web_extractor import OutputLimits, WebExtractor, WebExtractorRunner
from openscope.tools.web_search import (
    ImageSearchProvider,
    ImageSearchRunner,
    LocalIndexProvider,
    SearchProvider,
    SearxngProvider,
    WebSearchImageRunner,
    WebSearchRunner,
    build_index,
)

log = logging.getLogger("openscope.tools")

ToolRunners = dict[BuiltinToolKind, BuiltinToolRunner]
# How often the chores look for idle code containers; a container lives at most this much
# past its idle time.
EXPIRY_INTERVAL_SECONDS = 60.0
LOCAL_INDEX_NAME = "web_search_index.sqlite3"
CODE_INTERPRETER_DIR = "code_interpreter"


@runtime_checkable
class _Closable(Protocol):
    async def aclose(self) -> None: ...


def build_tool_runners(settings: Settings, knowledge: KnowledgeSearch | None = None) -> ToolRunners:
    """The runners of the tools `settings` enable, by kind, and `file_search` when the
    server has vector stores to search (`knowledge`: the service behind them). Building
    the local search index from `source` blocks (reading only files changed since the
    last build): call this before serving, or through `asyncio.to_thread`. Raises
    SettingsError when the index cannot be built."""
    tools = settings.tools
    runners: ToolRunners = {}
    if knowledge is not None:
        runners[BuiltinToolKind.FILE_SEARCH] = FileSearchRunner(knowledge)
    if tools.web_search is not None:
        provider = _search_provider(tools.web_search, settings.data_dir)
        runners[BuiltinToolKind.WEB_SEARCH] = WebSearchRunner(provider)
        if isinstance(provider, ImageSearchProvider):
            # shares the provider, which the web search runner closes
            runners[BuiltinToolKind.WEB_SEARCH_IMAGE] = WebSearchImageRunner(provider)
            # image_search: the route's model describes the image, this provider searches
            runners[BuiltinToolKind.IMAGE_SEARCH] = ImageSearchRunner(provider)
        if tools.web_extractor.enabled:
            runners[BuiltinToolKind.WEB_EXTRACTOR] = _extractor(tools.web_extractor)
    if tools.code_interpreter.enabled:
        runners[BuiltinToolKind.CODE_INTERPRETER] = _code_interpreter(
            tools.code_interpreter, settings.data_dir
        )
    if tools.mcp.enabled:
        runners[BuiltinToolKind.MCP] = _mcp(tools.mcp, os.environ)
    return runners


def _mcp(config: McpSettings, env: Mapping[str, str]) -> McpToolRunner:
    policy = McpPolicy(
        connect_timeout=config.connect_timeout_seconds,
        call_timeout=config.call_timeout_seconds,
        allow=networks(*config.allow_networks),
        max_output_chars=config.max_output_chars,
    )
    servers: dict[str, Mcp] = {}
    for label, server in config.servers.items():
        headers = {}
        for header, variable in server.headers_from_env.items():
            value = env.get(variable)
            if not value:
                raise SettingsError(
                    f"tools.mcp.servers.{label}: the environment variable {variable} "
                    f"(header {header}) is not set"
                )
            headers[header] = value
        allowed = tuple(server.allowed_tools) if server.allowed_tools is not None else None
        servers[label] = Mcp(
            label,
            server.url,
            server.transport,
            server.description,
            headers=headers,
            allowed_tools=allowed,
            declared=True,
        )
    workspaces = {
        label: server.workspaces
        for label, server in config.servers.items()
        if server.workspaces is not None
    }
    return McpToolRunner(policy, servers=servers, workspaces=workspaces)


def _search_provider(config: WebSearchSettings, data_dir: Path) -> SearchProvider:
    if config.provider == "searxng":
        assert config.url is not None  # the settings' validator made sure
        return SearxngProvider(config.url, timeout=config.timeout_seconds)
    index = config.index or data_dir / LOCAL_INDEX_NAME
    if config.source is not None:
        try:
            index.parent.mkdir(parents=True, exist_ok=True)
            report = build_index(config.source, index)
        except (OSError, ValueError) as error:
            raise SettingsError(f"tools.web_search: cannot build the index: {error}") from None
        log.info("web search: local index %s built from %s: %s", index, config.source, report)
    return LocalIndexProvider(index)


def _extractor(config: WebExtractorSettings) -> WebExtractorRunner:
    policy = FetchPolicy(
        max_redirects=config.max_redirects,
        total_timeout=config.timeout_seconds,
        connect_timeout=min(5.0, config.timeout_seconds),
        max_bytes=config.max_page_bytes,
        allow=networks(*config.allow_networks),
    )
    limits = OutputLimits(max_chars=config.max_output_chars, max_urls=config.max_urls)
    return WebExtractorRunner(WebExtractor(Fetcher(policy), limits))


def _code_interpreter(config: CodeInterpreterSettings, data_dir: Path) -> CodeInterpreterRunner:
    policy = SandboxPolicy(
        wall_seconds=config.timeout_seconds,
        cpu_seconds=config.cpu_seconds,
        memory_bytes=config.memory_mb << 20,
        max_processes=config.max_processes,
        max_output_bytes=config.max_output_bytes,
        tmp_bytes=config.tmp_mb << 20,
        max_disk_bytes=config.disk_mb << 20,
        idle_seconds=config.idle_seconds,
        max_containers=config.max_containers,
        max_containers_per_workspace=config.max_containers_per_workspace,
    )
    if shutil.which(policy.bwrap) is None:
        log.warning(
            "code interpreter: bwrap is not on PATH (apt-get install bubblewrap); every "
            "code_interpreter call will fail until it is"
        )
    root = config.root_dir or data_dir / CODE_INTERPRETER_DIR
    return CodeInterpreterRunner(Containers(root, policy))


async def expire_idle_tools(runners: Mapping[BuiltinToolKind, BuiltinToolRunner]) -> None:
    """Remove the code containers idle past their time (a chore's round)."""
    runner = runners.get(BuiltinToolKind.CODE_INTERPRETER)
    if isinstance(runner, CodeInterpreterRunner):
        expired = await runner.expire_idle()
        if expired:
            log.info("code interpreter: %d idle container(s) removed", len(expired))


async def close_tool_runners(runners: Mapping[BuiltinToolKind, BuiltinToolRunner]) -> None:
    """Close every runner that holds something (search sessions, code containers); a
    failure is logged and the others still close."""
    for kind, runner in runners.items():
        if isinstance(runner, _Closable):
            await shutdown_step(f"closing the {kind} tool", runner.aclose())
