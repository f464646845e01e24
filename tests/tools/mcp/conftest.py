from collections.abc import Iterator

import pytest

from tests.tools.mcp.servers import PROTOCOLS, mcp_server


@pytest.fixture(scope="module", params=["sse", "streamable-http"])
def mcp_url(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """(server_protocol, url) of a real test MCP server, over each transport."""
    with mcp_server(request.param) as url:
        yield PROTOCOLS[request.param], url
