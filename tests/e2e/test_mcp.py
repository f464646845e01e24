"""The `mcp` tool end to end: a real `openscope serve` (its model the scripted backend, which
calls the first tool it is offered and then reports the tool's result) and real MCP
servers (the `mcp` SDK's MCPServer in subprocesses on 127.0.0.1, over SSE and Streamable
HTTP), driven with the official OpenAI SDK: listing, calls, a failing and a hanging tool,
the approval round trip, a chain that lists once, and headers that reach the server but
are kept nowhere."""

from __future__ import annotations

import time
from collections.abc import Iterator
from hashlib import sha256
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.e2e.conftest import Server, openai_sdk, serving
from tests.tools.mcp.servers import PROTOCOLS, mcp_server

MODEL = "scripted-echo"
SECRET = "Bearer e2e-mcp-s3cret"
CONFIG = f"""
[backends.scripted]
type = "scripted"

[routes]
"{MODEL}" = "scripted"

[tools.mcp]
enabled = true
allow_networks = ["127.0.0.1"]
connect_timeout_seconds = 5
call_timeout_seconds = 2
"""


@pytest.fixture(scope="module")
def openscope(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("mcp")
    with serving(workdir, config=CONFIG, alias=f"qwen-plus={MODEL}") as server:
        yield server


@pytest.fixture(scope="module", params=["sse", "streamable-http"])
def mcp(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """The `mcp` tool of a running test server, over each transport."""
    with mcp_server(request.param) as url:
        yield {
            "type": "mcp",
            "server_label": "test",
            "server_url": url,
            "server_protocol": PROTOCOLS[request.param],
        }


@pytest.fixture
def client(openscope: Server) -> Iterator[openai.OpenAI]:
    with openai_sdk(openscope) as sdk:
        yield sdk


def create(client: openai.OpenAI, tool: dict[str, Any], **fields: Any) -> dict[str, Any]:
    response = client.responses.create(
        model=MODEL, input=fields.pop("input", "Go."), tools=[tool], **fields
    )
    return response.model_dump()


def test_lists_calls_and_answers(client: openai.OpenAI, mcp: dict[str, Any]) -> None:
    body = create(client, mcp | {"allowed_tools": ["add"]})
    listing, call, message = body["output"]
    assert listing["type"] == "mcp_list_tools" and listing["server_label"] == "test"
    assert {t["name"] for t in listing["tools"]} == {"add", "weather", "boom", "hang", "whoami"}
    add = next(t for t in listing["tools"] if t["name"] == "add")
    assert add["description"] == "Add two integers."
    assert add["input_schema"]["required"] == ["a", "b"]
    assert call["type"] == "mcp_call"
    assert (call["name"], call["server_label"], call["status"]) == ("add", "test", "completed")
    assert call["arguments"] == '{"a": 1, "b": 1}'  # what the scripted model writes
    assert (call["output"], call["error"]) == ("2", None)
    assert message["content"][0]["text"] == "The tool returned: 2"
    assert "x_tools" not in body["usage"]  # Model Studio counts no MCP calls


def test_a_chained_turn_does_not_list_again(client: openai.OpenAI, mcp: dict[str, Any]) -> None:
    tool = mcp | {"allowed_tools": ["add"]}
    first = create(client, tool)
    second = create(client, tool, previous_response_id=first["id"], input="Again.")
    assert [item["type"] for item in second["output"]] == ["mcp_call", "message"]


def test_the_stream_shows_each_step(client: openai.OpenAI, mcp: dict[str, Any]) -> None:
    events = client.responses.create(
        model=MODEL, input="Go.", tools=[mcp | {"allowed_tools": ["add"]}], stream=True
    )
    kinds = [event.type for event in events]
    mcp_kinds = [k for k in kinds if "mcp" in k or "output_item" in k]
    assert mcp_kinds[:9] == [
        "response.output_item.added",
        "response.mcp_list_tools.in_progress",
        "response.mcp_list_tools.completed",
        "response.output_item.done",
        "response.output_item.added",
        "response.mcp_call_arguments.delta",
        "response.mcp_call_arguments.done",
        "response.mcp_call.in_progress",
        "response.mcp_call.completed",
    ]
    assert kinds[-1] == "response.completed"


def test_a_failing_tool_is_a_failed_call_the_model_reads(
    client: openai.OpenAI, mcp: dict[str, Any]
) -> None:
    body = create(client, mcp | {"allowed_tools": ["boom"]})
    _, call, message = body["output"]
    assert (call["name"], call["status"], call["output"]) == ("boom", "failed", None)
    error = call["error"]
    assert error["type"] == "mcp_tool_execution_error"
    (text,) = error["content"]
    assert "boom" in text["text"]
    assert message["content"][0]["text"] == f"The tool returned: {text['text']}"


def test_a_hanging_server_fails_the_call_in_its_time(
    client: openai.OpenAI, mcp: dict[str, Any]
) -> None:
    started = time.monotonic()
    body = create(client, mcp | {"allowed_tools": ["hang"]})
    _, call, message = body["output"]
    assert (call["name"], call["status"]) == ("hang", "failed")
    assert call["error"]["type"] == "mcp_protocol_error"
    assert call["error"]["message"] == "The MCP tool hang did not answer in time."
    assert "did not answer in time" in message["content"][0]["text"]
    assert time.monotonic() - started < 10  # call_timeout_seconds = 2


def test_the_approval_round_trip(client: openai.OpenAI, mcp: dict[str, Any]) -> None:
    tool = mcp | {"allowed_tools": ["add"], "require_approval": "always"}
    first = create(client, tool)
    _, request = first["output"]
    assert request["type"] == "mcp_approval_request"
    assert (request["name"], request["server_label"]) == ("add", "test")
    assert request["arguments"] == '{"a": 1, "b": 1}'
    answer = {"type": "mcp_approval_response", "approval_request_id": request["id"]}
    second = create(
        client, tool, previous_response_id=first["id"], input=[answer | {"approve": True}]
    )
    call, message = second["output"]
    assert call["type"] == "mcp_call" and call["approval_request_id"] == request["id"]
    assert (call["status"], call["output"]) == ("completed", "2")
    assert message["content"][0]["text"] == "The tool returned: 2"

    # stateless: the first answer's items sent back, the approval after them, is refused:
    # a request in `input` may be the client's own, and only the server's are carried out
    with pytest.raises(openai.BadRequestError, match="not issued by this server"):
        create(client, tool, input=[*first["output"], answer | {"approve": True}])

    declined = create(
        client,
        tool,
        previous_response_id=first["id"],
        input=[answer | {"approve": False, "reason": "not now"}],
    )
    (message,) = declined["output"]
    assert "declined" in message["content"][0]["text"]


def test_headers_reach_the_server_and_are_kept_nowhere(
    client: openai.OpenAI, mcp: dict[str, Any], openscope: Server
) -> None:
    tool = mcp | {"allowed_tools": ["whoami"], "headers": {"Authorization": SECRET}}
    body = create(client, tool)
    assert body["output"][1]["output"] == sha256(SECRET.encode()).hexdigest()  # sent
    assert body["tools"][0].get("headers") is None
    stored = client.responses.retrieve(body["id"]).model_dump()
    assert stored["tools"][0].get("headers") is None
    data = Path(openscope.log_path).parent / "data"
    for path in [*data.rglob("*"), openscope.log_path]:
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def test_bad_tools_are_refused(client: openai.OpenAI, mcp: dict[str, Any]) -> None:
    many = [mcp | {"server_label": f"s{i}"} for i in range(11)]
    with pytest.raises(openai.BadRequestError, match="at most 10 mcp servers"):
        client.responses.create(model=MODEL, input="Go.", tools=many)  # type: ignore[arg-type]
    with pytest.raises(openai.BadRequestError, match="server_protocol"):
        create(client, mcp | {"server_protocol": "websocket"})
