"""A stored turn keeps its code_interpreter tool as the client named it: the container id,
`{"type": "auto"}`, or neither; chat's thinking-only rule is the request's, not kept."""

from __future__ import annotations

import json

import pytest

from openscope.core.builtin_tools import CodeInterpreter
from openscope.core.codec import (
    builtin_tool_from_dict,
    builtin_tool_to_dict,
    settings_from_dict,
    settings_to_dict,
)
from openscope.core.state import TurnSettings


@pytest.mark.parametrize(
    ("tool", "kept"),
    [
        (CodeInterpreter(), {"type": "code_interpreter"}),
        (
            CodeInterpreter(auto_container=True),
            {"type": "code_interpreter", "container": {"type": "auto"}},
        ),
        (
            CodeInterpreter(container_id="cntr_0a1b"),
            {"type": "code_interpreter", "container": "cntr_0a1b"},
        ),
    ],
)
def test_the_container_is_kept_as_named(tool: CodeInterpreter, kept: dict[str, object]) -> None:
    assert builtin_tool_to_dict(tool) == kept
    assert builtin_tool_from_dict(kept) == tool
    settings = TurnSettings(builtin_tools=(tool,))
    stored = json.loads(json.dumps(settings_to_dict(settings)))  # as the store writes it
    assert settings_from_dict(stored).builtin_tools == (tool,)


def test_the_thinking_rule_is_not_kept() -> None:
    kept = builtin_tool_to_dict(CodeInterpreter(requires_thinking=True))
    assert kept == {"type": "code_interpreter"}
