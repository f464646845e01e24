"""MCP servers the settings declare (`[tools.mcp.servers.<label>]`), used by chat and
Anthropic requests through `mcp_servers`: the app built from settings (the scripted
model, which calls the first tool it is offered and then reports its result) and a real
MCP server on 127.0.0.1, reached without `allow_networks` (the operator named it), its
header read from the environment."""

from __future__ import annotations

from collections.abc import Iterator
from hashlib import sha256
from typing import Any

import pytest

from openscope.core.builtin_tools import Mcp
from openscope.core.errors import PermissionDenied
from openscope.server.tools import build_tool_runners
from openscope.settings import Settings, SettingsError
from openscope.tools.mcp import McpToolRunner
from tests.conftest import AppFactory
from tests.tools.mcp.servers import mcp_server

TOKEN = "Bearer declared-s3cret"


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with mcp_server("streamable-http") as running:
        yield running


def mcp_settings(url: str) -> dict[str, Any]:
    return {
        "mcp": {
            "enabled": True,
            "call_timeout_seconds": 5,
            "servers": {
                "calc": {"url": url, "transport": "streamable_http", "allowed_tools": ["add"]},
                "who": {
                    "url": url,
                    "transport": "streamable_http",
                    "allowed_tools": ["whoami"],
                    "headers_from_env": {"Authorization": "TEST_MCP_AUTH"},
                },
                # the settings' keys are the default workspace's
                "mine": {"url": url, "transport": "streamable_http", "workspaces": ["default"]},
                "theirs": {"url": url, "transport": "streamable_http", "workspaces": ["team-b"]},
            },
        }
    }


@pytest.fixture
def app(scripted_client: AppFactory, url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("TEST_MCP_AUTH", TOKEN)
    return scripted_client(tools=mcp_settings(url))


def chat(app: Any, **fields: Any) -> Any:
    body = {"model": "qwen-plus", "messages": [{"role": "user", "content": "Go."}], **fields}
    return app.post("/compatible-mode/v1/chat/completions", json=body)


def test_chat_runs_a_declared_servers_tool(app: Any) -> None:
    response = chat(app, mcp_servers=["calc"])
    assert response.status_code == 200, response.text
    message = response.json()["choices"][0]["message"]
    assert message["content"] == "The tool returned: 2"
    assert not message.get("tool_calls")


def test_the_headers_come_from_the_environment(app: Any) -> None:
    response = chat(app, mcp_servers=["who"])
    content = response.json()["choices"][0]["message"]["content"]
    assert content == f"The tool returned: {sha256(TOKEN.encode()).hexdigest()}"


def test_anthropic_runs_a_declared_servers_tool(app: Any) -> None:
    body = {
        "model": "qwen-plus",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "Go."}],
        "mcp_servers": ["calc"],
    }
    response = app.post("/apps/anthropic/v1/messages", json=body)
    assert response.status_code == 200, response.text
    assert [b["type"] for b in response.json()["content"]] == ["text"]
    assert response.json()["content"][0]["text"] == "The tool returned: 2"


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (["nope"], "no MCP server 'nope'"),
        ("calc", "a list of server labels"),
        (["calc", "calc"], "twice"),
    ],
)
def test_bad_mcp_servers_are_refused(app: Any, value: Any, fragment: str) -> None:
    response = chat(app, mcp_servers=value)
    assert response.status_code == 400
    assert fragment in response.json()["error"]["message"]


def test_a_missing_environment_variable_stops_the_start(url: str) -> None:
    settings = Settings.model_validate({"tools": mcp_settings(url)})
    with pytest.raises(SettingsError, match="TEST_MCP_AUTH"):
        build_tool_runners(settings)


def test_the_runner_knows_the_declared_servers(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_MCP_AUTH", TOKEN)
    runners = build_tool_runners(Settings.model_validate({"tools": mcp_settings(url)}))
    runner = next(r for r in runners.values() if isinstance(r, McpToolRunner))
    who = runner.declared("who", "default")
    assert who == Mcp(
        "who",
        url,
        "streamable_http",
        headers={"Authorization": TOKEN},
        allowed_tools=("whoami",),
        declared=True,
    )
    assert runner.declared("nope", "default") is None
    assert runner.declared("who", "team-b") == who  # no workspaces: every workspace's
    assert runner.declared("theirs", "team-b") is not None
    with pytest.raises(PermissionDenied, match="'theirs'"):
        runner.declared("theirs", "default")


def test_a_server_kept_to_the_callers_workspace_runs(app: Any) -> None:
    response = chat(app, mcp_servers=["mine"])
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"].startswith("The tool returned")


def test_a_server_kept_to_other_workspaces_is_refused_naming_it(app: Any) -> None:
    response = chat(app, mcp_servers=["calc", "theirs"])
    assert response.status_code == 403, response.text
    assert "'theirs'" in response.json()["error"]["message"]
    body = {
        "model": "qwen-plus",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "Go."}],
        "mcp_servers": ["theirs"],
    }
    response = app.post("/apps/anthropic/v1/messages", json=body)
    assert response.status_code == 403, response.text
    assert response.json()["error"]["type"] == "permission_error"
    assert "'theirs'" in response.json()["error"]["message"]


def test_workspaces_for_an_undeclared_label_are_a_mistake() -> None:
    with pytest.raises(ValueError, match="ghost"):
        McpToolRunner(servers={}, workspaces={"ghost": ["default"]})


def test_the_streams_show_only_the_answer(app: Any) -> None:
    with app.stream(
        "POST",
        "/compatible-mode/v1/chat/completions",
        json={
            "model": "qwen-plus",
            "messages": [{"role": "user", "content": "Go."}],
            "mcp_servers": ["calc"],
            "stream": True,
        },
    ) as response:
        text = "".join(response.iter_text())
    assert response.status_code == 200
    assert "calc-add" not in text and "mcp_call" not in text
    assert "[DONE]" in text
    body = {
        "model": "qwen-plus",
        "max_tokens": 64,
        "stream": True,
        "messages": [{"role": "user", "content": "Go."}],
        "mcp_servers": ["calc"],
    }
    with app.stream("POST", "/apps/anthropic/v1/messages", json=body) as response:
        text = "".join(response.iter_text())
    assert response.status_code == 200
    assert "message_stop" in text and "mcp" not in text.replace("mcp_servers", "")


def test_the_loops_timeout_must_leave_the_mcp_client_its_own() -> None:
    mcp = {"enabled": True, "connect_timeout_seconds": 10, "call_timeout_seconds": 80}
    with pytest.raises(ValueError, match="tool_timeout_seconds"):
        Settings.model_validate({"tools": {"mcp": mcp}})
    Settings.model_validate({"tools": {"mcp": mcp, "tool_timeout_seconds": 120}})
