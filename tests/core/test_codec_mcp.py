"""A stored turn keeps its mcp tools as they were named: a server the settings declare
stays declared when the turn is read back (chained on), and no header is ever kept."""

from __future__ import annotations

import json

import pytest

from openscope.core.builtin_tools import Mcp, McpApprovalPolicy
from openscope.core.codec import (
    builtin_tool_from_dict,
    builtin_tool_to_dict,
    settings_from_dict,
    settings_to_dict,
)
from openscope.core.state import TurnSettings


@pytest.mark.parametrize(
    "tool",
    [
        Mcp("amap", "", declared=True),
        Mcp(
            "deep",
            "https://mcp.example/sse",
            "streamable_http",
            "a server",
            allowed_tools=("ask",),
            require_approval=McpApprovalPolicy(True, ("ask",), ()),
        ),
    ],
)
def test_an_mcp_tool_round_trips_with_its_declared_flag(tool: Mcp) -> None:
    kept = builtin_tool_to_dict(tool)
    assert kept["declared"] is tool.declared
    assert builtin_tool_from_dict(kept) == tool
    settings = TurnSettings(builtin_tools=(tool,))
    stored = json.loads(json.dumps(settings_to_dict(settings)))  # as the store writes it
    assert settings_from_dict(stored).builtin_tools == (tool,)


def test_the_headers_are_never_kept() -> None:
    tool = Mcp("amap", "https://mcp.example/sse", headers={"Authorization": "Bearer s3cret"})
    kept = builtin_tool_to_dict(tool)
    assert "headers" not in kept and "s3cret" not in json.dumps(kept)
    assert builtin_tool_from_dict(kept).headers == {}


def test_a_turn_kept_before_the_flag_was_is_not_declared() -> None:
    old = {"type": "mcp", "server_label": "a", "server_url": "https://mcp.example/sse"}
    tool = builtin_tool_from_dict(old)
    assert isinstance(tool, Mcp) and not tool.declared
