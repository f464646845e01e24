"""MCP in core terms: the steps of a request's work with an MCP server, as the built-in
call and result parts of tool `mcp` carry them, and the runner seam the tool loop calls.

One MCP server offers many functions, and a request does more with it than call them, so
an `mcp` call part's `arguments` is a JSON object naming its step (`McpStep`) and what
the step is about, and its result's `output` the step's outcome:

- `mcp_list_tools`: the server's tools were listed. Call `{type, server_label}`, result
  `{tools: [{name, input_schema, description, annotations}], error?}`. A conversation
  whose history holds a completed list does not list that server again.
- `mcp_call`: a tool ran. Call `{type, server_label, name, arguments, approval_request_id?}`
  (`arguments` the JSON text the model wrote; `approval_request_id` when it ran on the
  client's approval), result `{output, error}`.
- `mcp_approval_request`: a call that waits for the client's approval; no result. Call
  `{type, server_label, name, arguments, approval_request_id, issued?}`, the id the client
  answers with (the request's item id). `issued` is true only on a request the tool loop
  wrote, never on one decoded from a client's `input`: only those are carried out, so a
  client cannot approve calls it asked for itself.
- `mcp_approval_response`: the client's answer, a result part alone (its `call_id` the
  approval request's id) with output `{type, approve, reason}`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from openscope.core.builtin_tools import Mcp
from openscope.core.tool_runner import BuiltinToolRunner, ToolContext, ToolOutcome


class McpStep(StrEnum):
    """The value is the Responses item type that shows the step."""

    LIST_TOOLS = "mcp_list_tools"
    CALL = "mcp_call"
    APPROVAL_REQUEST = "mcp_approval_request"
    APPROVAL_RESPONSE = "mcp_approval_response"


@dataclass(frozen=True, slots=True)
class McpToolInfo:
    """One tool a server lists: its name, the JSON schema of its arguments, what it says
    it does, and its MCP annotations (read-only hint, ...), as the server gave them."""

    name: str
    input_schema: dict[str, Any] = field(default_factory=dict)
    description: str | None = None
    annotations: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "input_schema": self.input_schema,
            "description": self.description,
            "annotations": self.annotations,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> McpToolInfo | None:
        """A listed tool from its stored JSON, or None when it is not one."""
        name, schema = data.get("name"), data.get("input_schema")
        description, annotations = data.get("description"), data.get("annotations")
        if not isinstance(name, str) or not name:
            return None
        return cls(
            name,
            schema if isinstance(schema, dict) else {},
            description if isinstance(description, str) else None,
            annotations if isinstance(annotations, dict) else None,
        )


@dataclass(frozen=True, slots=True)
class McpCallStep:
    """What an `mcp` call part's arguments say (see the module's doc)."""

    step: McpStep
    server_label: str
    name: str = ""
    arguments: str = "{}"
    approval_request_id: str | None = None
    issued: bool = False  # an approval request this server wrote (see the module's doc)

    def to_json(self) -> str:
        body: dict[str, Any] = {"type": str(self.step), "server_label": self.server_label}
        if self.step is not McpStep.LIST_TOOLS:
            body |= {"name": self.name, "arguments": self.arguments}
        if self.approval_request_id is not None:
            body["approval_request_id"] = self.approval_request_id
        if self.issued:
            body["issued"] = True
        return json.dumps(body, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> McpCallStep | None:
        """The step an `mcp` call part's arguments name, or None when they name none."""
        data = _object(text)
        if data is None:
            return None
        try:
            step = McpStep(str(data.get("type")))
        except ValueError:
            return None
        label, name = data.get("server_label"), data.get("name", "")
        arguments, approval = data.get("arguments", "{}"), data.get("approval_request_id")
        if not isinstance(label, str) or not isinstance(name, str):
            return None
        if not isinstance(arguments, str) or not (approval is None or isinstance(approval, str)):
            return None
        issued = step is McpStep.APPROVAL_REQUEST and data.get("issued") is True
        return cls(step, label, name, arguments, approval, issued)


@dataclass(frozen=True, slots=True)
class McpApproval:
    """The client's answer to an approval request (`mcp_approval_response`)."""

    approve: bool
    reason: str | None = None

    def to_json(self) -> str:
        body = {"type": str(McpStep.APPROVAL_RESPONSE), "approve": self.approve}
        return json.dumps(body | ({"reason": self.reason} if self.reason else {}))

    @classmethod
    def from_json(cls, text: str) -> McpApproval | None:
        data = _object(text)
        if data is None or data.get("type") != McpStep.APPROVAL_RESPONSE:
            return None
        approve, reason = data.get("approve"), data.get("reason")
        if not isinstance(approve, bool):
            return None
        return cls(approve, reason if isinstance(reason, str) else None)


def listed_output(tools: tuple[McpToolInfo, ...], error: str | None = None) -> str:
    """An `mcp_list_tools` result's output."""
    body: dict[str, Any] = {"tools": [tool.to_dict() for tool in tools]}
    return json.dumps(body | ({"error": error} if error else {}), ensure_ascii=False)


def listed_tools(output: str) -> tuple[McpToolInfo, ...]:
    data = _object(output) or {}
    tools = data.get("tools")
    if not isinstance(tools, list):
        return ()
    found = (McpToolInfo.from_dict(t) for t in tools if isinstance(t, dict))
    return tuple(t for t in found if t is not None)


class McpFailure(StrEnum):
    """Where a failed call failed (OpenAI's `mcp_call.error.type`)."""

    TOOL = "mcp_tool_execution_error"  # the tool ran and said it failed (`isError`)
    PROTOCOL = "mcp_protocol_error"  # no answer: refused, unreachable, timed out, an RPC error
    HTTP = "http_error"  # the server answered with an HTTP error status


# JSON-RPC's "server error" code, for a failure that brought no code of its own.
SERVER_ERROR_CODE = -32000


def call_output(
    output: str | None,
    error: str | None,
    failure: McpFailure = McpFailure.PROTOCOL,
    code: int | None = None,
) -> str:
    """An `mcp_call` result's output: what the tool returned, or why it failed (`error`,
    where: `failure`, with a JSON-RPC or HTTP `code`)."""
    body: dict[str, Any] = {"output": output, "error": error}
    if error is not None:
        body |= {"error_type": str(failure), "error_code": code}
    return json.dumps(body, ensure_ascii=False)


def call_error(output: str) -> dict[str, Any] | None:
    """A failed `mcp_call` result's error as OpenAI's item shows it (None: no error):
    `{type: mcp_tool_execution_error, content}`, or `{type, code, message}` for the others.
    An output with only an error (the tool loop's own failures: a timeout, bad arguments)
    is a protocol error."""
    data = _object(output) or {}
    error = data.get("error")
    if not isinstance(error, str):
        return None
    try:
        failure = McpFailure(str(data.get("error_type")))
    except ValueError:
        failure = McpFailure.PROTOCOL
    if failure is McpFailure.TOOL:
        return {"type": str(failure), "content": [{"type": "text", "text": error}]}
    code = data.get("error_code")
    code = code if isinstance(code, int) and not isinstance(code, bool) else SERVER_ERROR_CODE
    return {"type": str(failure), "code": code, "message": error}


def call_result_text(output: str) -> str:
    """What the model reads of an `mcp_call` result (its output, else its error)."""
    data = _object(output)
    if data is None:
        return output
    text = data.get("output")
    if isinstance(text, str):
        return text
    error = data.get("error")
    return error if isinstance(error, str) else output


def function_name(server_label: str, tool: str) -> str:
    """The function the model calls for a server's tool (Model Studio's `amap-maps-
    maps_weather`): unique across the servers of a request, whose labels are."""
    return f"{server_label}-{tool}"


def _object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


@runtime_checkable
class McpRunner(BuiltinToolRunner, Protocol):
    """The runner of tool `mcp`: it lists a server's tools and calls one of them. A
    failure of the server is never an error of the request: listing raises
    `McpUnavailable` (the reason, for the client to read), a call returns a failed
    outcome (the reason, for the model)."""

    def declared(self, label: str, workspace: str) -> Mcp | None:
        """The server the settings declare under `label` (None: none), for a request of
        `workspace`; raises `PermissionDenied` naming the label when the settings keep the
        server to other workspaces."""
        ...

    async def list_tools(self, spec: Mcp, context: ToolContext) -> tuple[McpToolInfo, ...]: ...

    async def call_tool(
        self, spec: Mcp, name: str, arguments: dict[str, Any], context: ToolContext
    ) -> ToolOutcome: ...


class McpUnavailable(Exception):
    """A server's tools could not be listed; the message says why (no secrets in it)."""
