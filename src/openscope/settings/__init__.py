"""Settings: defaults, then an optional TOML file, then environment variables, then
command-line flags, each overriding the one before."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from openscope.core.bounds import Count, PerSecond
from openscope.core.quota import RateLimits
from openscope.core.validation import describe_errors
from openscope.settings.images import ImageFetchSettings as ImageFetchSettings
from openscope.settings.knowledge import EmbeddingModelSettings as EmbeddingModelSettings
from openscope.settings.knowledge import EmbeddingsSettings as EmbeddingsSettings
from openscope.settings.knowledge import KnowledgeS3Settings as KnowledgeS3Settings
from openscope.settings.knowledge import KnowledgeSettings as KnowledgeSettings
from openscope.settings.knowledge import LocalEmbeddingModel as LocalEmbeddingModel
from openscope.settings.knowledge import UpstreamEmbeddingModel as UpstreamEmbeddingModel
from openscope.settings.networks import NetworkList

EMBEDDED_BACKEND = "embedded"
EMBEDDED_MODEL = "smollm2-135m-instruct"


class BackendSettings(BaseModel):
    """One backend instance. `type` picks the implementation; every other key is one of its
    options, checked against the type's options model when the server builds the backend
    (e.g. `LlamaCppOptions`)."""

    model_config = ConfigDict(extra="allow")

    type: str

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class RouteSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    backend: str
    model: str | None = None  # the name the backend knows the model by (default: the same)


class LimitSettings(BaseModel):
    """Rate limits on one model (or `*`, every model). Unset: no limit of this scope.
    Bounded as the admin API bounds them (core.bounds): finite, within what the limiters
    count, counts strict integers."""

    model_config = ConfigDict(extra="forbid")

    rpm: Count | None = None
    tpm: Count | None = None
    rps: PerSecond | None = None
    tps: PerSecond | None = None
    max_concurrent: Count | None = None
    tpd: Count | None = None  # tokens per UTC day: a budget

    def limits(self) -> RateLimits:
        return RateLimits(**self.model_dump())


class PriceSettings(BaseModel):
    """A model's prices per million tokens, in whatever currency the operator bills in."""

    model_config = ConfigDict(extra="forbid")

    input: float = Field(ge=0, allow_inf_nan=False)
    output: float = Field(ge=0, allow_inf_nan=False)


class PlatformSettings(BaseModel):
    """Keys, limits and the usage ledger (the `[platform]` table)."""

    model_config = ConfigDict(extra="forbid")

    # false: one person's server. The configured keys only, no stored keys and no admin
    # API, no limits, no usage ledger, no per-request metrics or log line.
    enabled: bool = True

    # The secret API keys are digested under (HMAC-SHA256). Unset: generated into
    # data_dir/key_pepper on first start. Replicas sharing a database must share it.
    key_pepper: str | None = None
    # Keys for /admin/v1 (or OPENSCOPE_ADMIN_KEY); keys created with the `admin` scope work too.
    admin_keys: list[str] = Field(default_factory=list)
    # How long a replica trusts what it read about a key: revocation reaches every replica
    # within this.
    auth_cache_seconds: float = Field(default=1.0, ge=0, le=3600, allow_inf_nan=False)
    # redis://... to count limits across replicas; unset: in this process only.
    redis_url: str | None = None
    # Redis unreachable: "closed" refuses calls (503), "degraded" counts in this process
    # with each limit divided by `replicas` (which it then needs: a replica counting
    # against the whole limit on its own would multiply it).
    redis_failure: Literal["closed", "degraded"] = "degraded"
    # How many servers share the limits. Without redis_url, more than 1 makes each server
    # count on its own against its share of every limit (`RateLimits.divided`: the shares
    # sum to at most the whole; a concurrency limit smaller than `replicas` leaves a share
    # of 0), with a warning at start; with redis_url, the share used while Redis is away.
    replicas: int | None = Field(default=None, ge=1)
    # Model Studio's implied RPS = RPM/60 and TPS = TPM/60 (false: per-minute limits only).
    implied_per_second: bool = True
    # Account-level limits per model (or "*"), over the catalogue's Model Studio defaults.
    limits: dict[str, LimitSettings] = Field(default_factory=dict)
    # Whether catalogue models get Model Studio's default limits (qwen-plus 600 RPM, ...).
    catalogue_limits: bool = True
    prices: dict[str, PriceSettings] = Field(default_factory=dict)
    usage_retention_days: int = Field(default=90, ge=1)
    rollup_interval_seconds: float = Field(default=60.0, gt=0, le=86_400, allow_inf_nan=False)
    # Seconds a finished request's ledger record may wait to be written with the others
    # of that time (one transaction for them all); 0: each batch as soon as it can go.
    usage_write_seconds: float = Field(default=0.25, ge=0, le=60, allow_inf_nan=False)
    # /metrics asks for a key with the `metrics` scope (or an admin key) unless false.
    metrics_need_key: bool = True
    # OpenTelemetry traces (auth, admit, backend) to this OTLP/HTTP traces URL, e.g.
    # http://collector:4318/v1/traces; unset: no traces. Needs `pip install openscope[otel]`.
    otlp_endpoint: str | None = None


class WebSearchSettings(BaseModel):
    """The search provider behind `enable_search` (Chat) and the `web_search` tool
    (Responses): the `[tools.web_search]` table. Without it, no search is offered."""

    model_config = ConfigDict(extra="forbid")

    # "searxng": a SearXNG instance's JSON API at `url` (its settings.yml must list `json`
    # under search.formats). "local": an SQLite FTS5 index at `index`.
    provider: Literal["searxng", "local"]
    # searxng: the instance's base URL, e.g. http://searxng:8080
    url: str | None = Field(default=None, pattern=r"^https?://[^\s/]+")
    # local: the index file. Default, when `source` is set: data_dir/web_search_index.sqlite3.
    index: Path | None = None
    # local: a folder of documents (.md, .txt, .html, .jsonl) or one JSONL file the index is
    # built from at every start. Only files changed since the last build are read, so a
    # restart after editing the corpus refreshes the index in about the time the changes
    # take to read, and an operator never runs a separate build step. Unset: `index` must
    # already exist (built with `build_index`).
    source: Path | None = None
    # searxng: seconds one search may take before it fails (the model is told it did).
    timeout_seconds: float = Field(default=10.0, gt=0, le=120, allow_inf_nan=False)

    @model_validator(mode="after")
    def _provider_has_what_it_needs(self) -> WebSearchSettings:
        if self.provider == "searxng":
            if self.url is None:
                raise ValueError("provider 'searxng' needs url (the instance's base URL)")
            if self.index is not None or self.source is not None:
                raise ValueError("index and source are for provider 'local', not 'searxng'")
        else:
            if self.index is None and self.source is None:
                raise ValueError("provider 'local' needs index (a built index) or source")
            if self.url is not None:
                raise ValueError("url is for provider 'searxng', not 'local'")
        return self


# The web extractor's output gives each URL of a call an equal share; a share must hold
# the template's frame, the goal and the URL (tools.web_extractor.OutputLimits).
EXTRACTOR_CHARS_PER_URL = 2_400


class WebExtractorSettings(BaseModel):
    """The `web_extractor` tool (Responses; offered only beside web_search, as on Model
    Studio): the `[tools.web_extractor]` table. Pages are fetched through an SSRF-safe
    fetcher: loopback, private, link-local (cloud metadata), CGNAT, multicast and reserved
    addresses are refused unless listed in `allow_networks`."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    # Addresses or CIDRs reachable despite the SSRF guard, e.g. ["10.1.2.0/24"] for an
    # intranet wiki. Every other private address stays refused.
    allow_networks: NetworkList = Field(default_factory=list)
    # Seconds one page may take (DNS, every redirect, the body).
    timeout_seconds: float = Field(default=20.0, gt=0, le=300, allow_inf_nan=False)
    # Bytes of one page read at most (longer pages are cut there, not refused).
    max_page_bytes: int = Field(default=2 * 1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    max_redirects: int = Field(default=5, ge=0, le=20)
    # URLs one call reads at most (the model is told so; more are reported as not fetched).
    max_urls: int = Field(default=5, ge=1, le=20)
    # Characters of one call's output (what the model reads), shared by its URLs: at least
    # 2,400 per URL of max_urls.
    max_output_chars: int = Field(default=12_000, le=200_000)

    @model_validator(mode="after")
    def _output_holds_every_url(self) -> WebExtractorSettings:
        least = EXTRACTOR_CHARS_PER_URL * self.max_urls
        if self.max_output_chars < least:
            raise ValueError(
                f"max_output_chars must be at least {least} ({EXTRACTOR_CHARS_PER_URL} per "
                "URL of max_urls)"
            )
        return self


class CodeInterpreterSettings(BaseModel):
    """The `code_interpreter` tool: Python in bubblewrap containers (the Debian package
    `bubblewrap`; numpy, pandas, matplotlib and sympy come from the `code-interpreter`
    extra). The `[tools.code_interpreter]` table."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    # Where the containers' files live: each server instance keeps its own directory
    # there (several may share it) and removes those of instances that have ended.
    # Default: data_dir/code_interpreter.
    root_dir: Path | None = None
    # Wall-clock seconds one run may take (the run is killed after it).
    timeout_seconds: float = Field(default=60.0, gt=0, le=3600, allow_inf_nan=False)
    # CPU seconds one run may use.
    cpu_seconds: int = Field(default=60, ge=1, le=3600)
    # Address space of every process in a container, in MiB (numpy and pandas need ~300).
    memory_mb: int = Field(default=1024, ge=256, le=1024 * 1024)
    # Processes and threads a container may have.
    max_processes: int = Field(default=64, ge=8, le=4096)
    # Bytes one run may print (stdout + stderr); the run fails past it.
    max_output_bytes: int = Field(default=1 << 20, ge=1024, le=64 << 20)
    # Size of a container's /tmp in MiB (memory of the host; a write past it fails).
    tmp_mb: int = Field(default=64, ge=8, le=64 * 1024)
    # All the files of a container's /mnt/data, in MiB: past it the run fails and the
    # container is removed with its files (checked every second while code runs).
    disk_mb: int = Field(default=512, ge=16, le=1024 * 1024)
    # Seconds a container may sit unused before it is removed with its files.
    idle_seconds: float = Field(default=20 * 60.0, gt=0, le=7 * 86_400, allow_inf_nan=False)
    # Containers alive at once (one per conversation that ran code recently); past it
    # the least recently used idle one is removed.
    max_containers: int = Field(default=32, ge=1, le=10_000)
    # One workspace's share of them (at most max_containers): past it, that workspace's
    # own least recently used idle container makes room, never another tenant's.
    max_containers_per_workspace: int = Field(default=8, ge=1, le=10_000)


class McpServerSettings(BaseModel):
    """An MCP server the operator declares (`[tools.mcp.servers.<label>]`), which a chat
    or Anthropic request uses by naming its label in `mcp_servers`. Its address is not
    checked against the SSRF rules: the operator chose it."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(pattern=r"^https?://[^\s/]+")
    transport: Literal["sse", "streamable_http"] = "sse"
    description: str | None = None
    # Headers sent with every request to the server, each read from an environment
    # variable at start (header name -> variable name), so no secret sits in the file:
    # e.g. {Authorization = "AMAP_MCP_AUTHORIZATION"}.
    headers_from_env: dict[str, str] = Field(default_factory=dict)
    # The server's tools the model is offered (unset: all of them).
    allowed_tools: list[str] | None = None
    # The workspaces whose requests may use the server (unset: every workspace); a request
    # of another workspace naming it is refused (403), e.g. ["default", "team-maps"].
    workspaces: list[str] | None = None


class McpSettings(BaseModel):
    """The `mcp` tool (Responses' `{"type": "mcp", "server_url": ...}`): the server lists
    and calls the tools of the MCP servers a request names, over SSE or Streamable HTTP.
    The `[tools.mcp]` table. A server's address must pass the web fetcher's rules:
    loopback, private, link-local (cloud metadata), CGNAT, multicast and reserved
    addresses are refused unless listed in `allow_networks`."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    # Addresses or CIDRs reachable despite the SSRF guard, e.g. ["10.1.2.0/24"] for MCP
    # servers on an intranet. Every other private address stays refused.
    allow_networks: NetworkList = Field(default_factory=list)
    # Seconds to connect to a server and finish the MCP handshake.
    connect_timeout_seconds: float = Field(default=10.0, gt=0, le=120, allow_inf_nan=False)
    # Seconds one listing or one tool call may take once connected (past it the model
    # reads that the call failed).
    call_timeout_seconds: float = Field(default=60.0, gt=0, le=3600, allow_inf_nan=False)
    # Characters of a tool's output the model reads at most (longer output is cut).
    max_output_chars: int = Field(default=20_000, ge=1_000, le=1_000_000)
    # Servers chat and Anthropic requests use by label (`"mcp_servers": ["amap"]`).
    servers: dict[str, McpServerSettings] = Field(default_factory=dict)

    @field_validator("servers")
    @classmethod
    def _labels_name_functions(
        cls, servers: dict[str, McpServerSettings]
    ) -> dict[str, McpServerSettings]:
        for label in servers:
            if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", label):
                raise ValueError(
                    f"the MCP server label {label!r} may hold only letters, digits, '_' and '-'"
                )
        return servers


class ConsoleSettings(BaseModel):
    """The browser console (the `[console]` table)."""

    model_config = ConfigDict(extra="forbid")

    # When `serve` generates a key (none configured) and listens on loopback only, the
    # playground opened in a browser on this machine is given that key, so it works with
    # no step of the user's (console/local_key.py says who is refused). Turn it off on a
    # machine shared with people who should not use the server.
    share_generated_key: bool = True


class ToolsSettings(BaseModel):
    """The server's built-in tools (the `[tools]` table). Each is off until configured."""

    model_config = ConfigDict(extra="forbid")

    web_search: WebSearchSettings | None = None
    web_extractor: WebExtractorSettings = Field(default_factory=WebExtractorSettings)
    code_interpreter: CodeInterpreterSettings = Field(default_factory=CodeInterpreterSettings)
    mcp: McpSettings = Field(default_factory=McpSettings)
    # How far the tool loop goes for one request: model turns that ran tools, one tool
    # run's seconds (past it the model reads that the run failed; keep it above the code
    # interpreter's `timeout_seconds`, whose own failure keeps the cell's logs), and all
    # runs' seconds (past them the model answers with the tools no longer offered).
    max_rounds: int = Field(default=8, ge=1, le=64)
    tool_timeout_seconds: float = Field(default=90.0, gt=0, le=3600, allow_inf_nan=False)
    total_tool_seconds: float = Field(default=300.0, gt=0, le=86_400, allow_inf_nan=False)

    @model_validator(mode="after")
    def _extractor_beside_search(self) -> ToolsSettings:
        # Model Studio offers web_extractor only with web_search; an extractor the server
        # would never offer is a mistake to name, not to ignore.
        if self.web_extractor.enabled and self.web_search is None:
            raise ValueError("tools.web_extractor needs tools.web_search configured too")
        cell = self.code_interpreter.timeout_seconds
        if self.code_interpreter.enabled and self.tool_timeout_seconds <= cell:
            # the loop would cut every slow cell before the sandbox could say why
            raise ValueError(
                "tools.tool_timeout_seconds must be above tools.code_interpreter.timeout_seconds"
            )
        mcp = self.mcp.connect_timeout_seconds + self.mcp.call_timeout_seconds
        if self.mcp.enabled and self.tool_timeout_seconds <= mcp:
            # the loop would cut a slow MCP call before the client could say which step hung
            raise ValueError(
                "tools.tool_timeout_seconds must be above tools.mcp.connect_timeout_seconds + "
                "tools.mcp.call_timeout_seconds"
            )
        return self


def _default_backends() -> dict[str, BackendSettings]:
    return {EMBEDDED_BACKEND: BackendSettings(type="llamacpp")}


def _default_routes() -> dict[str, str | RouteSettings]:
    return {EMBEDDED_MODEL: EMBEDDED_BACKEND}


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = 8000
    api_keys: list[str] = Field(default_factory=list)
    data_dir: Path = Path("data")
    max_body_bytes: int = 16 * 1024 * 1024
    # A generation body (chat, messages, responses, count_tokens) is refused from its
    # Content-Length when it is larger than the longest prompt the served models accept
    # could take (`core/rules/sizes.py`: 64 bytes a token of context, plus 256 KiB; a model
    # that reads images or audio: max_body_bytes). Set: this bound instead (at most
    # max_body_bytes).
    max_generation_body_bytes: int | None = Field(default=None, gt=0)
    # SQLite in data_dir when unset; postgresql+asyncpg://... to share state between servers
    database_url: str | None = None
    response_retention_seconds: int = 7 * 24 * 3600
    purge_interval_seconds: float = Field(default=3600.0, gt=0, le=86_400, allow_inf_nan=False)
    log_level: str = "info"
    # "json": one JSON object a line (a request's line with its request id, workspace, key
    # id, model, status, tokens and latency as fields), for log pipelines.
    log_format: Literal["text", "json"] = "text"
    # The nice value the serving thread (the event loop) runs at once the engines have
    # started, so parsing and refusing requests cannot take cores from decode (Linux).
    serving_nice: int = Field(default=5, ge=0, le=19)
    backends: dict[str, BackendSettings] = Field(default_factory=_default_backends)
    # model name -> backend instance name, or {backend, model}
    routes: dict[str, str | RouteSettings] = Field(default_factory=_default_routes)
    # catalogue name -> served model name, e.g. qwen-plus = "smollm2-135m-instruct"
    aliases: dict[str, str] = Field(default_factory=dict)
    platform: PlatformSettings = Field(default_factory=PlatformSettings)
    tools: ToolsSettings = Field(default_factory=ToolsSettings)
    image_fetch: ImageFetchSettings = Field(default_factory=ImageFetchSettings)
    embeddings: EmbeddingsSettings = Field(default_factory=EmbeddingsSettings)
    knowledge: KnowledgeSettings = Field(default_factory=KnowledgeSettings)
    console: ConsoleSettings = Field(default_factory=ConsoleSettings)

    @model_validator(mode="after")
    def _shared_state_is_whole(self) -> Settings:
        platform = self.platform
        if platform.redis_url and platform.redis_failure == "degraded" and not platform.replicas:
            raise ValueError(
                "platform.redis_failure = 'degraded' needs platform.replicas (how many "
                "servers share the limits), or set platform.redis_failure = 'closed'"
            )
        shared = self.database_url is not None and not self.database_url.startswith("sqlite")
        if shared and not platform.key_pepper:
            raise ValueError(
                "a shared database_url needs platform.key_pepper (or OPENSCOPE_KEY_PEPPER), "
                "the same on every server: keys are looked up by their digest under it"
            )
        return self

    def route_table(self) -> dict[str, RouteSettings]:
        table = {}
        for name, route in self.routes.items():
            if isinstance(route, str):
                route = RouteSettings(backend=route)
            table[name] = route
        return table


class SettingsError(ValueError):
    """Settings that cannot be used. The message never repeats a setting's value: it may
    be a secret (an API key)."""


ENV_VARS = {
    "OPENSCOPE_API_KEY": "api_key",
    "OPENSCOPE_DATA_DIR": "data_dir",
    "OPENSCOPE_HOST": "host",
    "OPENSCOPE_PORT": "port",
    "OPENSCOPE_DATABASE_URL": "database_url",
    "OPENSCOPE_SERVING_NICE": "serving_nice",
    "OPENSCOPE_LOG_FORMAT": "log_format",
}
# Environment variables of the [platform] table.
PLATFORM_ENV_VARS = {
    "OPENSCOPE_ADMIN_KEY": "admin_key",
    "OPENSCOPE_KEY_PEPPER": "key_pepper",
    "OPENSCOPE_REDIS_URL": "redis_url",
}


def load_settings(
    config: Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Build settings. `overrides` come from flags; `api_key` adds a key, `aliases`,
    `routes` and `backends` merge into what the file says."""
    data: dict[str, Any] = {}
    if config is not None:
        try:
            data = tomllib.loads(config.read_text())
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise SettingsError(f"cannot read {config}: {error}") from error
    layers: list[dict[str, Any]] = []
    if env is not None:
        layers.append({key: env[var] for var, key in ENV_VARS.items() if env.get(var)})
    layers.append({k: v for k, v in (overrides or {}).items() if v is not None})
    for layer in layers:
        for key, value in layer.items():
            if key == "api_key":
                data["api_keys"] = [*data.get("api_keys", []), value]
            elif key in ("aliases", "routes", "backends"):
                data[key] = {**data.get(key, {}), **value}
            else:
                data[key] = value
    if env is not None:
        platform = data.setdefault("platform", {})
        for var, key in PLATFORM_ENV_VARS.items():
            if not env.get(var):
                continue
            if key == "admin_key":
                platform["admin_keys"] = [*platform.get("admin_keys", []), env[var]]
            else:
                platform[key] = env[var]
    try:
        return Settings.model_validate(data)
    except ValidationError as error:
        raise SettingsError(f"invalid settings: {describe_errors(error, 'setting')}") from None
