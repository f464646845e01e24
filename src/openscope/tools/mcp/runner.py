"""`McpToolRunner`: lists an MCP server's tools and calls them for the tool loop.

Each listing and each call opens its own connection (the handshake, then one request),
so nothing of one request's server, and none of its headers, outlives the request. Every
failure is said in words that never repeat the headers: a server that cannot be reached
or refuses, a tool that answers with `isError`, a call past its time."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Collection, Mapping
from typing import Any

import httpx2
from mcp import MCPError
from mcp.types import CallToolResult, TextContent

from openscope.core.builtin_tools import BuiltinTool, BuiltinToolKind, Mcp
from openscope.core.errors import PermissionDenied
from openscope.core.mcp import (
    McpFailure,
    McpToolInfo,
    McpUnavailable,
    call_output,
    call_result_text,
)
from openscope.core.messages import BuiltinResultPart
from openscope.core.request import ToolSpec
from openscope.core.tool_runner import ToolContext, ToolOutcome
from openscope.tools.fetch import HostResolver
from openscope.tools.mcp.connection import (
    McpPolicy,
    McpRefused,
    ReplyBudget,
    ReplyTooLarge,
    connect,
)
from openscope.tools.mcp.listing import list_bounded

log = logging.getLogger("openscope.tools.mcp")


class McpToolRunner:
    """The runner of tool `mcp` (`openscope.core.mcp.McpRunner`). `servers`: the servers
    the settings declare, by label (each `declared`), which chat and Anthropic requests
    name in `mcp_servers`; `workspaces`: the workspaces that may use a declared server, by
    its label (a label not in it: every workspace)."""

    def __init__(
        self,
        policy: McpPolicy | None = None,
        resolver: HostResolver | None = None,
        servers: Mapping[str, Mcp] | None = None,
        workspaces: Mapping[str, Collection[str]] | None = None,
    ):
        self._policy = policy or McpPolicy()
        self._resolver = resolver
        self._servers = dict(servers or {})
        for label, server in self._servers.items():
            if server.server_label != label or not server.declared:
                raise ValueError(f"the declared MCP server {label!r} is not declared as such")
        self._workspaces = {label: frozenset(names) for label, names in (workspaces or {}).items()}
        for label in self._workspaces:
            if label not in self._servers:
                raise ValueError(f"workspaces are given for {label!r}, which is not declared")

    @property
    def kind(self) -> BuiltinToolKind:
        return BuiltinToolKind.MCP

    def function(self, spec: BuiltinTool) -> ToolSpec:
        # One server offers many functions: the loop asks `list_tools` instead.
        raise TypeError("an MCP server offers the functions its listing names")

    async def run(
        self, spec: BuiltinTool, arguments: dict[str, Any], context: ToolContext
    ) -> ToolOutcome:
        message = "An MCP call names the server's tool: use call_tool."
        return ToolOutcome(message, call_output(None, message), "failed")

    def declared(self, label: str, workspace: str) -> Mcp | None:
        server = self._servers.get(label)
        kept_to = self._workspaces.get(label)
        if server is not None and kept_to is not None and workspace not in kept_to:
            raise PermissionDenied(
                f"The MCP server '{label}' may not be used by this workspace.",
                param="mcp_servers",
            )
        return server

    def recall(self, result: BuiltinResultPart) -> str:
        return self._cut(call_result_text(result.output))

    async def list_tools(self, spec: Mcp, context: ToolContext) -> tuple[McpToolInfo, ...]:
        """The server's tools, within the policy's listing limits (what they leave out is
        logged); raises `McpUnavailable`, also when the server sends more than a
        connection may read."""
        budget = ReplyBudget(self._policy.max_reply_bytes)
        try:
            async with asyncio.timeout(self._policy.connect_timeout + self._policy.call_timeout):
                async with connect(spec, self._policy, self._resolver, budget) as session:
                    listing = await list_bounded(session, spec, self._policy.listing)
        except McpRefused as error:
            raise McpUnavailable(f"{spec.server_label}: {error}") from None
        except TimeoutError:
            raise McpUnavailable(
                f"{spec.server_label}: the server did not list its tools in time"
            ) from None
        except Exception as error:  # the SDK's and HTTP's failures, whatever their class
            log.info("MCP %s: listing failed (%s)", spec.server_label, type(error).__name__)
            if budget.exceeded:
                raise McpUnavailable(
                    f"{spec.server_label}: the server's listing is over {budget.most} bytes"
                ) from None
            raise McpUnavailable(f"{spec.server_label}: {_reason(error)}") from None
        for note in listing.notes:
            log.warning("MCP %s: listing cut: %s", spec.server_label, note)
        return listing.tools

    async def call_tool(
        self, spec: Mcp, name: str, arguments: dict[str, Any], context: ToolContext
    ) -> ToolOutcome:
        """Run the server's tool `name`; a failure of any kind is a failed outcome (an
        answer over the bytes a connection may read is one, never read whole)."""
        budget = ReplyBudget(self._policy.max_reply_bytes)
        try:
            async with asyncio.timeout(self._policy.connect_timeout + self._policy.call_timeout):
                async with connect(spec, self._policy, self._resolver, budget) as session:
                    result = await session.call_tool(name, arguments)
                    if budget.exceeded:  # the SDK may have read on past the reply
                        raise ReplyTooLarge("over the budget")
        except McpRefused as error:
            return _failed(f"{spec.server_label}: {error}")
        except TimeoutError:
            return _failed(f"The MCP tool {name} did not answer in time.")
        except Exception as error:  # the SDK's and HTTP's failures, whatever their class
            if budget.exceeded:
                log.info("MCP %s: %s sent over %d bytes", spec.server_label, name, budget.most)
                return _failed(f"The MCP tool {name} answered with over {budget.most} bytes.")
            inner = _innermost(error)
            if isinstance(inner, TimeoutError) or (
                isinstance(inner, MCPError) and "timed out" in str(inner)
            ):
                return _failed(f"The MCP tool {name} did not answer in time.")
            log.info("MCP %s: %s failed (%s)", spec.server_label, name, type(inner).__name__)
            message = f"The MCP tool {name} failed: {_reason(inner)}"
            if isinstance(inner, httpx2.HTTPStatusError):
                return _failed(message, McpFailure.HTTP, inner.response.status_code)
            if isinstance(inner, MCPError):
                return _failed(message, code=inner.error.code)
            return _failed(message)
        text = self._cut(_text(result))
        if result.is_error:
            text = text or "The tool failed."
            return ToolOutcome(text, call_output(None, text, McpFailure.TOOL), "failed")
        return ToolOutcome(text, call_output(text, None))

    def _cut(self, text: str) -> str:
        most = self._policy.max_output_chars
        return text if len(text) <= most else text[:most] + " [cut]"


def _text(result: CallToolResult) -> str:
    """The result as text: its text blocks, else its structured content as JSON, else a
    note of what else it held (images, resources the model cannot read here)."""
    texts = [block.text for block in result.content if isinstance(block, TextContent)]
    if texts:
        return "\n".join(texts)
    if result.structured_content is not None:
        return json.dumps(result.structured_content, ensure_ascii=False)
    kinds = sorted({block.type for block in result.content})
    return f"(the tool returned no text: {', '.join(kinds)})" if kinds else ""


def _failed(
    message: str, failure: McpFailure = McpFailure.PROTOCOL, code: int | None = None
) -> ToolOutcome:
    return ToolOutcome(message, call_output(None, message, failure, code), "failed")


def _innermost(error: BaseException) -> BaseException:
    """The first error inside nested exception groups (the SDK's task groups wrap them)."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return error


def _reason(error: BaseException) -> str:
    """Why a connection failed, in words that name no header: the innermost error's class
    and message (HTTP errors name the URL and status, never headers)."""
    error = _innermost(error)
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
