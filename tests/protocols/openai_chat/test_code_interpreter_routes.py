"""Chat's `enable_code_interpreter` over the scripted backend (builtin-tools.md §2): Model
Studio's rules as 400s in chat's error shape before the backend is asked (streaming only,
thinking only, not beside function tools, not on a model the catalogue says cannot
think), and, with a real sandbox, what a client sees of a run: thinking and the
integration as `reasoning_content`, the answer as `content`, never the code."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from openscope.backends.base import BackendFeatures
from openscope.backends.scripted import ScriptedBackend
from openscope.core.catalog import default_catalog
from openscope.core.catalog.spec import ThinkingMode
from openscope.core.events import (
    ChoiceEnd,
    Event,
    FinishReason,
    PartDelta,
    PartEnd,
    PartKind,
    PartStart,
)
from openscope.core.messages import Role, ToolResultPart
from openscope.core.request import GenerateRequest
from tests.conftest import AppFactory
from tests.tools.code_interpreter.conftest import requires_bwrap

URL = "/compatible-mode/v1/chat/completions"
THINKING_AND_TOOLS = BackendFeatures(tools=True, thinking=True)
NO_THINKING_MODEL = "smollm2-135m-instruct"  # routed by the scripted app


def chat(**fields: Any) -> dict[str, Any]:
    return {
        "model": "qwen-plus",
        "messages": [{"role": "user", "content": "What is 123 to the 21st power?"}],
        "enable_code_interpreter": True,
        "enable_thinking": True,
        "stream": True,
        **fields,
    }


def tools_table(tmp_path: Path) -> dict[str, Any]:
    return {
        "code_interpreter": {
            "enabled": True,
            "root_dir": str(tmp_path / "sandbox"),
            "timeout_seconds": 20,
            "memory_mb": 768,
        }
    }


def refused(client: TestClient, payload: dict[str, Any]) -> dict[str, Any]:
    response = client.post(URL, json=payload)
    assert response.status_code == 400, response.text
    body: dict[str, Any] = response.json()
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert body["error"]["code"] == "invalid_parameter_error"
    return body["error"]


@pytest.mark.parametrize(
    ("changes", "param", "message"),
    [
        (
            {"stream": False},
            "enable_code_interpreter",
            "enable_code_interpreter supports only streaming output: set stream to true.",
        ),
        (
            {"tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]},
            "enable_code_interpreter",
            "enable_code_interpreter cannot be used together with function calling: send "
            "either tools or enable_code_interpreter.",
        ),
        (
            {"enable_thinking": False},
            "enable_code_interpreter",
            "enable_code_interpreter works only in thinking mode: set enable_thinking to true.",
        ),
        (
            # qwen-plus does not think unless asked
            {"enable_thinking": None},
            "enable_code_interpreter",
            "enable_code_interpreter works only in thinking mode: set enable_thinking to true.",
        ),
        (
            {"model": NO_THINKING_MODEL, "enable_thinking": None},
            "enable_code_interpreter",
            f"The model {NO_THINKING_MODEL} does not support enable_code_interpreter.",
        ),
    ],
)
def test_model_studios_rules_are_400s_before_the_backend(
    scripted_client: AppFactory,
    tmp_path: Path,
    changes: dict[str, Any],
    param: str,
    message: str,
) -> None:
    spec = default_catalog()
    assert spec[NO_THINKING_MODEL].capabilities.thinking is ThinkingMode.NONE
    assert spec["qwen-plus"].capabilities.thinking_default is False
    backend = ScriptedBackend(features=THINKING_AND_TOOLS)
    client = scripted_client(backend, tools=tools_table(tmp_path))
    payload = {k: v for k, v in chat(**changes).items() if v is not None}
    error = refused(client, payload)
    assert (error["param"], error["message"]) == (param, message)
    assert not backend.requests


def test_a_backend_that_cannot_run_it_refuses_it_by_name(
    scripted_client: AppFactory,
) -> None:
    backend = ScriptedBackend(features=BackendFeatures(thinking=True))  # no tools: no loop
    error = refused(scripted_client(backend), chat())
    assert error["param"] == "enable_code_interpreter"
    assert "not supported yet by the backend" in error["message"]
    assert not backend.requests


def computes(request: GenerateRequest, choice: int) -> Sequence[Event]:
    """The model thinks and runs code; once it has read the result, it thinks it over
    (the integration) and answers with the number the sandbox printed."""
    last = request.messages[-1]
    if last.role is not Role.TOOL:
        arguments = json.dumps({"code": "print(123**21)"})
        return [
            PartStart(0, 0, PartKind.REASONING),
            PartDelta(0, 0, "I will compute it."),
            PartEnd(0, 0),
            PartStart(0, 1, PartKind.TOOL_CALL, tool_call_id="m1", tool_name="code_interpreter"),
            PartDelta(0, 1, arguments[:9]),
            PartDelta(0, 1, arguments[9:]),
            PartEnd(0, 1),
            ChoiceEnd(0, FinishReason.TOOL_CALLS),
        ]
    result = last.parts[0]
    assert isinstance(result, ToolResultPart)
    return [
        PartStart(0, 0, PartKind.REASONING),
        PartDelta(0, 0, "The sandbox printed it."),
        PartEnd(0, 0),
        PartStart(0, 1, PartKind.TEXT),
        PartDelta(0, 1, f"It is {result.text}."),
        PartEnd(0, 1),
        ChoiceEnd(0, FinishReason.STOP),
    ]


@requires_bwrap
def test_a_stream_shows_the_thinking_and_the_answer_never_the_code(
    scripted_client: AppFactory, tmp_path: Path
) -> None:
    backend = ScriptedBackend(computes, features=THINKING_AND_TOOLS)
    client = scripted_client(backend, tools=tools_table(tmp_path))
    with client.stream("POST", URL, json=chat()) as response:
        assert response.status_code == 200, response.read()
        text = "".join(response.iter_text())
    frames = [f.removeprefix("data: ") for f in text.strip().split("\n\n")]
    assert frames[-1] == "[DONE]"
    chunks = [json.loads(f) for f in frames[:-1]]
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    reasoning = "".join(d.get("reasoning_content") or "" for d in deltas)
    content = "".join(d.get("content") or "" for d in deltas)
    assert reasoning == "I will compute it.The sandbox printed it."
    assert content == f"It is {123**21}."
    assert not any("tool_calls" in d for d in deltas)
    assert "123**21" not in text  # the code is not shown in compatible mode
    finishes = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]]
    assert [f for f in finishes if f] == ["stop"]
    # the model was asked twice: the second time with the run's result
    assert len(backend.requests) == 2
