"""Built-in tools: tools the server runs itself, between model turns, as opposed to function
tools the client runs. A request names them with their options; the model's calls to them
and their results are parts of the answer (`BuiltinCallPart`, `BuiltinResultPart`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class BuiltinToolKind(StrEnum):
    """Model Studio's built-in tools; the value is the Responses API's tool `type`."""

    WEB_SEARCH = "web_search"
    WEB_EXTRACTOR = "web_extractor"
    CODE_INTERPRETER = "code_interpreter"
    WEB_SEARCH_IMAGE = "web_search_image"
    IMAGE_SEARCH = "image_search"
    FILE_SEARCH = "file_search"
    MCP = "mcp"


@dataclass(frozen=True, slots=True)
class WebSearch:
    """Search the web. `options` are chat's `search_options` (forced_search,
    search_strategy, freshness, assigned_site_list, ...), as the client sent them; the
    Responses API's web_search takes none."""

    options: dict[str, Any] = field(default_factory=dict)
    kind: BuiltinToolKind = field(default=BuiltinToolKind.WEB_SEARCH, init=False)

    @property
    def forced(self) -> bool:
        """Whether the model must search before it answers (`forced_search: true`)."""
        return self.options.get("forced_search") is True


@dataclass(frozen=True, slots=True)
class WebExtractor:
    """Read the pages a search found (Responses; needs web_search beside it)."""

    kind: BuiltinToolKind = field(default=BuiltinToolKind.WEB_EXTRACTOR, init=False)


@dataclass(frozen=True, slots=True)
class CodeInterpreter:
    """Run code the model writes in a sandbox (the server's own: no client container)."""

    kind: BuiltinToolKind = field(default=BuiltinToolKind.CODE_INTERPRETER, init=False)


@dataclass(frozen=True, slots=True)
class ImageSearch:
    """Search images by text (`web_search_image`) or by an input image (`image_search`)."""

    kind: BuiltinToolKind = BuiltinToolKind.WEB_SEARCH_IMAGE

    def __post_init__(self) -> None:
        if self.kind not in (BuiltinToolKind.WEB_SEARCH_IMAGE, BuiltinToolKind.IMAGE_SEARCH):
            raise ValueError(f"{self.kind} is not an image search")


@dataclass(frozen=True, slots=True)
class FileSearch:
    """Search a vector store (Model Studio takes exactly one id)."""

    vector_store_ids: tuple[str, ...]
    max_num_results: int | None = None
    kind: BuiltinToolKind = field(default=BuiltinToolKind.FILE_SEARCH, init=False)


@dataclass(frozen=True, slots=True)
class Mcp:
    """Call the tools of a remote MCP server."""

    server_label: str
    server_url: str
    server_protocol: str = "sse"
    server_description: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    kind: BuiltinToolKind = field(default=BuiltinToolKind.MCP, init=False)


BuiltinTool = WebSearch | WebExtractor | CodeInterpreter | ImageSearch | FileSearch | Mcp
