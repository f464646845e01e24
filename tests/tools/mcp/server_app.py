"""A real MCP server for the tests (the `mcp` SDK's MCPServer), run as a subprocess:
`python server_app.py <sse|streamable-http> <port>`, listening on 127.0.0.1 only."""

from __future__ import annotations

import asyncio
import hashlib
import sys

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.transport_security import TransportSecuritySettings

server = MCPServer("openscope-test")


@server.tool(description="Add two integers.")
def add(a: int, b: int) -> int:
    return a + b


@server.tool(description="The weather in a city.")
def weather(city: str) -> str:
    return f"{city}: sunny, 25 C"


@server.tool(description="Always fails.")
def boom() -> str:
    raise ValueError("the tool broke")


@server.tool(description="Never answers.")
async def hang() -> str:
    await asyncio.sleep(3600)
    return "never"


@server.tool(description="The SHA-256 of the Authorization header this call came with.")
def whoami(ctx: Context) -> str:
    # a digest, not the header: a test looks for the header in what openscope keeps
    headers = ctx.headers or {}
    return hashlib.sha256(headers.get("authorization", "").encode()).hexdigest()


if __name__ == "__main__":
    transport, port = sys.argv[1], int(sys.argv[2])
    # Any Host header: a test reaches it by a name only the client's pinning resolves.
    security = TransportSecuritySettings(enable_dns_rebinding_protection=False)
    server.run(  # type: ignore[call-overload]
        transport, host="127.0.0.1", port=port, transport_security=security
    )
