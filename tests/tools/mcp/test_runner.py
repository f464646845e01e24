"""The MCP runner against a real MCP server (the SDK's MCPServer in a subprocess), over SSE
and Streamable HTTP: listing, calls, a failing tool, a hanging one, the headers sent, and
the addresses refused."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from hashlib import sha256

import pytest

from openscope.core.builtin_tools import Mcp
from openscope.core.mcp import McpRunner, McpUnavailable
from openscope.core.tool_runner import ToolContext
from openscope.tools.fetch import networks
from openscope.tools.fetch.addresses import IPAddress, parse_literal
from openscope.tools.mcp import McpPolicy, McpRefused, McpToolRunner, checked_addresses
from openscope.tools.mcp.listing import ListingLimits
from tests.tools.mcp.servers import free_port

CONTEXT = ToolContext("req-1", "ws-1")
LOCAL = networks("127.0.0.1")


def runner(call_timeout: float = 5.0) -> McpToolRunner:
    return McpToolRunner(McpPolicy(connect_timeout=5.0, call_timeout=call_timeout, allow=LOCAL))


def spec(server: tuple[str, str], **fields: object) -> Mcp:
    protocol, url = server
    return Mcp("test", url, protocol, **fields)  # type: ignore[arg-type]


def test_the_runner_is_the_loops_mcp_runner() -> None:
    assert isinstance(runner(), McpRunner)


async def test_lists_the_servers_tools(mcp_url: tuple[str, str]) -> None:
    tools = await runner().list_tools(spec(mcp_url), CONTEXT)
    by_name = {tool.name: tool for tool in tools}
    assert set(by_name) == {"add", "weather", "boom", "hang", "whoami"}
    add = by_name["add"]
    assert add.description == "Add two integers."
    assert add.input_schema["properties"].keys() == {"a", "b"}
    assert add.input_schema["required"] == ["a", "b"]


async def test_calls_a_tool(mcp_url: tuple[str, str]) -> None:
    outcome = await runner().call_tool(spec(mcp_url), "add", {"a": 2, "b": 40}, CONTEXT)
    assert (outcome.status, outcome.for_model) == ("completed", "42")
    assert json.loads(outcome.output) == {"output": "42", "error": None}


async def test_a_failing_tool_is_a_failed_outcome_with_its_error(mcp_url: tuple[str, str]) -> None:
    outcome = await runner().call_tool(spec(mcp_url), "boom", {}, CONTEXT)
    assert outcome.status == "failed"
    assert "boom" in outcome.for_model
    assert json.loads(outcome.output)["error"] == outcome.for_model


async def test_an_unknown_tool_or_bad_arguments_fail_the_call(mcp_url: tuple[str, str]) -> None:
    unknown = await runner().call_tool(spec(mcp_url), "nope", {}, CONTEXT)
    bad = await runner().call_tool(spec(mcp_url), "add", {"a": "x"}, CONTEXT)
    assert unknown.status == bad.status == "failed"


async def test_a_hanging_tool_fails_within_the_call_timeout(mcp_url: tuple[str, str]) -> None:
    started = time.monotonic()
    outcome = await runner(call_timeout=1.0).call_tool(spec(mcp_url), "hang", {}, CONTEXT)
    assert outcome.status == "failed"
    assert "did not answer in time" in outcome.for_model
    assert time.monotonic() - started < 5


async def test_the_headers_go_to_the_server_but_not_into_reprs(mcp_url: tuple[str, str]) -> None:
    server = spec(mcp_url, headers={"Authorization": "Bearer s3cret"})
    outcome = await runner().call_tool(server, "whoami", {}, CONTEXT)
    assert outcome.for_model == sha256(b"Bearer s3cret").hexdigest()
    assert "s3cret" not in repr(server)


async def test_loopback_is_refused_without_the_allow_list(mcp_url: tuple[str, str]) -> None:
    closed = McpToolRunner(McpPolicy(connect_timeout=2.0, call_timeout=2.0))
    with pytest.raises(McpUnavailable, match="loopback"):
        await closed.list_tools(spec(mcp_url), CONTEXT)
    outcome = await closed.call_tool(spec(mcp_url), "add", {"a": 1, "b": 1}, CONTEXT)
    assert outcome.status == "failed" and "loopback" in outcome.for_model


async def test_a_server_that_is_not_there_fails_the_listing_quickly() -> None:
    gone = Mcp("gone", f"http://127.0.0.1:{free_port()}/sse")
    started = time.monotonic()
    with pytest.raises(McpUnavailable, match="gone"):
        await runner().list_tools(gone, CONTEXT)
    outcome = await runner().call_tool(gone, "add", {}, CONTEXT)
    assert outcome.status == "failed"
    assert time.monotonic() - started < 5


class Resolver:
    def __init__(self, *addresses: str) -> None:
        self.addresses = [parse_literal(a) for a in addresses]

    async def resolve(self, host: str, port: int) -> Sequence[IPAddress]:
        return [a for a in self.addresses if a is not None]


@pytest.mark.parametrize(
    ("url", "resolved", "reason"),
    [
        ("http://169.254.169.254/sse", (), "cloud metadata"),
        ("http://mcp.example/sse", ("10.0.0.7",), "private"),
        ("http://mcp.example/sse", ("93.184.216.34", "127.0.0.1"), "loopback"),
        ("http://[::ffff:127.0.0.1]/sse", (), "loopback"),
        ("ftp://mcp.example/sse", (), "http or https"),
    ],
)
async def test_addresses_the_rules_refuse(url: str, resolved: tuple[str, ...], reason: str) -> None:
    with pytest.raises(McpRefused, match=reason):
        await checked_addresses(url, (), Resolver(*resolved))


async def test_a_public_address_passes_and_is_pinned() -> None:
    host, addresses = await checked_addresses(
        "https://mcp.example/sse", (), Resolver("93.184.216.34")
    )
    assert host == "mcp.example"
    assert [str(a) for a in addresses] == ["93.184.216.34"]


async def test_the_connection_goes_to_the_checked_address(mcp_url: tuple[str, str]) -> None:
    # "mcp.invalid" has no address in DNS: the call works only because the connection
    # goes to the address the check resolved and pinned, never asking DNS again.
    protocol, url = mcp_url
    named = Mcp("pin", url.replace("127.0.0.1", "mcp.invalid"), protocol)
    pinned = McpToolRunner(McpPolicy(5.0, 5.0, allow=LOCAL), resolver=Resolver("127.0.0.1"))
    outcome = await pinned.call_tool(named, "add", {"a": 1, "b": 2}, CONTEXT)
    assert (outcome.status, outcome.for_model) == ("completed", "3")


async def test_a_server_that_accepts_and_never_answers_fails_in_time() -> None:
    done = asyncio.Event()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)  # the request, never answered
        await done.wait()
        writer.close()

    listener = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    quick = McpToolRunner(McpPolicy(connect_timeout=0.5, call_timeout=0.5, allow=LOCAL))
    try:
        for protocol, path in (("sse", "/sse"), ("streamable_http", "/mcp")):
            hanging = Mcp("hangs", f"http://127.0.0.1:{port}{path}", protocol)
            started = time.monotonic()
            with pytest.raises(McpUnavailable, match="hangs"):
                await quick.list_tools(hanging, CONTEXT)
            outcome = await quick.call_tool(hanging, "add", {}, CONTEXT)
            assert outcome.status == "failed"
            assert time.monotonic() - started < 4
    finally:
        done.set()
        listener.close()
        await listener.wait_closed()


# -- what a server may send ---------------------------------------------------------------


def capped(max_reply_bytes: int, **listing: int) -> McpToolRunner:
    policy = McpPolicy(
        connect_timeout=5.0,
        call_timeout=5.0,
        allow=LOCAL,
        max_reply_bytes=max_reply_bytes,
        listing=ListingLimits(**listing),
    )
    return McpToolRunner(policy)


async def test_an_answer_past_the_bytes_a_connection_reads_fails_at_once(
    mcp_url: tuple[str, str],
) -> None:
    runner = capped(64 * 1024)
    started = time.monotonic()
    # `weather` says the city back: 200 kB of it is an answer over the budget
    big = await runner.call_tool(spec(mcp_url), "weather", {"city": "x" * 200_000}, CONTEXT)
    assert big.status == "failed"
    assert big.for_model == "The MCP tool weather answered with over 65536 bytes."
    assert json.loads(big.output)["output"] is None
    assert time.monotonic() - started < 3  # failed on the byte past the budget, not a timeout
    within = await runner.call_tool(spec(mcp_url), "weather", {"city": "x" * 20_000}, CONTEXT)
    assert within.status == "completed"


async def test_a_listing_past_the_bytes_a_connection_reads_is_unavailable(
    mcp_url: tuple[str, str],
) -> None:
    with pytest.raises(McpUnavailable, match="listing is over 1500 bytes"):
        await capped(1500).list_tools(spec(mcp_url), CONTEXT)


async def test_the_listing_keeps_at_most_max_tools_and_logs_the_rest(
    mcp_url: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    runner = capped(1024 * 1024, max_tools=2)
    with caplog.at_level("WARNING", logger="openscope.tools.mcp"):
        tools = await runner.list_tools(spec(mcp_url, allowed_tools=("whoami",)), CONTEXT)
    assert len(tools) == 2 and "whoami" in {t.name for t in tools}
    assert "3 tools past the first 2 were left out" in caplog.text
