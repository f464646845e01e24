"""A server's listing, bounded: the pages of `tools/list` followed (at most `max_pages`),
each tool's entry weighed (a tool whose listed JSON — schema, description, annotations —
is over `max_tool_bytes` is left out), and the tools kept (at most `max_tools`, the ones
the request allows first). What is left out is said in the listing's notes, which the
runner logs: the listing is stored with the answer and its tools go into the prompt, so
a server cannot make either grow without end."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Protocol

from mcp.types import ListToolsResult, PaginatedRequestParams, Tool

from openscope.core.builtin_tools import Mcp
from openscope.core.mcp import McpToolInfo

DEFAULT_MAX_PAGES = 10
DEFAULT_MAX_TOOLS = 128
DEFAULT_MAX_TOOL_BYTES = 16 * 1024


class ToolPages(Protocol):
    """What lists a server's tools page by page (the SDK's `ClientSession`)."""

    async def list_tools(
        self, *, params: PaginatedRequestParams | None = None
    ) -> ListToolsResult: ...


@dataclass(frozen=True, slots=True)
class ListingLimits:
    max_pages: int = DEFAULT_MAX_PAGES
    max_tools: int = DEFAULT_MAX_TOOLS
    max_tool_bytes: int = DEFAULT_MAX_TOOL_BYTES

    def __post_init__(self) -> None:
        if self.max_pages < 1 or self.max_tools < 1 or self.max_tool_bytes < 1:
            raise ValueError("the MCP listing's limits must be positive")


@dataclass(frozen=True, slots=True)
class Listing:
    """The tools kept, in the server's order, and what was left out (`notes`)."""

    tools: tuple[McpToolInfo, ...]
    notes: tuple[str, ...] = field(default=())


async def list_bounded(session: ToolPages, spec: Mcp, limits: ListingLimits) -> Listing:
    """The server's tools within `limits` (see the module's doc)."""
    found: list[McpToolInfo] = []
    notes: list[str] = []
    cursor: str | None = None
    for _ in range(limits.max_pages):
        params = PaginatedRequestParams(cursor=cursor) if cursor else None
        page = await session.list_tools(params=params)
        for tool in page.tools:
            info = tool_info(tool)
            size = len(json.dumps(info.to_dict(), ensure_ascii=False).encode())
            if size > limits.max_tool_bytes:
                notes.append(
                    f"the tool {tool.name[:64]!r} was left out: its listing is {size} bytes, "
                    f"over {limits.max_tool_bytes}"
                )
            else:
                found.append(info)
        cursor = page.next_cursor
        if not cursor:
            break
    else:
        if cursor:
            notes.append(f"pages past the first {limits.max_pages} were not read")
    return Listing(_kept(found, spec, limits.max_tools, notes), tuple(notes))


def _kept(
    tools: list[McpToolInfo], spec: Mcp, most: int, notes: list[str]
) -> tuple[McpToolInfo, ...]:
    """At most `most` tools, in their order: the ones `spec` allows before the others."""
    if len(tools) <= most:
        return tuple(tools)
    allowed = [i for i, tool in enumerate(tools) if spec.allows(tool.name)]
    others = [i for i, tool in enumerate(tools) if not spec.allows(tool.name)]
    keep = set((allowed + others)[:most])
    notes.append(f"{len(tools) - most} tools past the first {most} were left out")
    return tuple(tool for i, tool in enumerate(tools) if i in keep)


def tool_info(tool: Tool) -> McpToolInfo:
    annotations = tool.annotations.model_dump(exclude_none=True) if tool.annotations else None
    return McpToolInfo(tool.name, dict(tool.input_schema or {}), tool.description, annotations)
