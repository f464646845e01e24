"""The `mcp` built-in tool: the tools of remote MCP servers a request names (Responses'
`{"type": "mcp", ...}`), listed and called through the official `mcp` SDK's client over
SSE or Streamable HTTP, on connections only to addresses the fetcher's rules allow."""

from openscope.tools.mcp.connection import McpPolicy, McpRefused, checked_addresses, connect
from openscope.tools.mcp.listing import ListingLimits
from openscope.tools.mcp.runner import McpToolRunner

__all__ = [
    "ListingLimits",
    "McpPolicy",
    "McpRefused",
    "McpToolRunner",
    "checked_addresses",
    "connect",
]
