"""The `mcp` tool on the Responses API, both ways: the tool as a request declares it, and
its items (`mcp_list_tools`, `mcp_call`, `mcp_approval_request`, the client's
`mcp_approval_response`) as output and as input sent back.

The tool takes Model Studio's fields (`server_label`, `server_url`, `server_protocol`,
`server_description`, `headers`; builtin-tools.md §3.7) and OpenAI's `allowed_tools` and
`require_approval`. `server_protocol` is "sse" (Model Studio's only one, the default) or
"streamable_http" (the MCP specification's newer transport); any other is refused.
`require_approval` defaults to "never", as Model Studio calls tools without asking; the
object form `{always: {tool_names}, never: {tool_names}}` leaves a tool named in neither
to "always" unless only `always` is given (OpenAI's default is "always"). `read_only`
filters are refused: a server's read-only hints are its own word.

An `mcp_call` item's `name` is the tool's name on its server, as OpenAI's is (Model
Studio writes the label-prefixed function name, `amap-maps-maps_weather`; the label is
in `server_label` here). The model calls the tools as functions `<label>-<tool>`."""

from __future__ import annotations

import json
import re
from typing import Any

from openscope.core.builtin_tools import (
    MAX_MCP_SERVERS,
    MCP_PROTOCOLS,
    BuiltinToolKind,
    Mcp,
    McpApprovalPolicy,
)
from openscope.core.codec import builtin_tool_to_dict
from openscope.core.errors import InvalidParameter
from openscope.core.mcp import (
    McpApproval,
    McpCallStep,
    McpFailure,
    McpStep,
    call_error,
    call_output,
    listed_output,
    listed_tools,
)
from openscope.core.messages import BuiltinCallPart, BuiltinResultPart, Message, Role

MCP = BuiltinToolKind.MCP
MCP_ITEM_TYPES = frozenset(str(step) for step in McpStep)
# A label becomes part of function names: letters, digits, '_' and '-' only.
LABEL = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_TOOL_FIELDS = {
    "server_label",
    "server_url",
    "server_protocol",
    "server_description",
    "headers",
    "allowed_tools",
    "require_approval",
}


def _invalid(message: str, param: str = "tools") -> InvalidParameter:
    return InvalidParameter(message, param=param)


# -- the tool -------------------------------------------------------------------------------


def mcp_tool(fields: dict[str, Any]) -> Mcp:
    """An `mcp` tool from its fields (all but `type`)."""
    unknown = sorted(set(fields) - _TOOL_FIELDS)
    if unknown:
        raise _invalid(f"Invalid 'tools': the mcp tool does not support '{unknown[0]}'.")
    label, url = fields.get("server_label"), fields.get("server_url")
    if not isinstance(label, str) or not isinstance(url, str) or not label or not url:
        raise _invalid("Invalid 'tools': an mcp tool needs server_label and server_url.")
    if not LABEL.match(label):
        raise _invalid(
            f"Invalid 'tools': the mcp server_label '{label[:64]}' may hold only letters, "
            "digits, '_' and '-' (at most 64)."
        )
    if not re.match(r"^https?://", url):
        raise _invalid("Invalid 'tools': an mcp server_url must be an http or https URL.")
    protocol = fields.get("server_protocol") or "sse"
    if protocol not in MCP_PROTOCOLS:
        raise _invalid(
            f"Invalid 'tools': mcp server_protocol must be one of {', '.join(MCP_PROTOCOLS)}."
        )
    headers = fields.get("headers") or {}
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise _invalid("Invalid 'tools': mcp headers must map strings to strings.")
    description = fields.get("server_description")
    if description is not None and not isinstance(description, str):
        raise _invalid("Invalid 'tools': mcp server_description must be a string.")
    return Mcp(
        server_label=label,
        server_url=url,
        server_protocol=protocol,
        server_description=description,
        headers=headers,
        allowed_tools=_allowed_tools(fields.get("allowed_tools")),
        require_approval=_approval(fields.get("require_approval")),
    )


def check_mcp_servers(tools: list[Mcp]) -> None:
    """Model Studio's limit of servers, and one label per server (it names functions)."""
    if len(tools) > MAX_MCP_SERVERS:
        raise _invalid(
            f"Invalid 'tools': at most {MAX_MCP_SERVERS} mcp servers may be used in one "
            f"request, got {len(tools)}."
        )
    labels = [tool.server_label for tool in tools]
    for label in labels:
        if labels.count(label) > 1:
            raise _invalid(f"Invalid 'tools': the mcp server_label '{label}' is used twice.")


def _names(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(n, str) for n in value):
        raise _invalid(f"Invalid 'tools': mcp {where} must be a list of tool names.")
    return tuple(value)


def _filter(value: Any, where: str) -> tuple[str, ...]:
    """A tool filter: `{tool_names: [...]}` (`read_only` is refused)."""
    if not isinstance(value, dict):
        raise _invalid(f"Invalid 'tools': mcp {where} must be an object with tool_names.")
    if "read_only" in value:
        raise _invalid(f"Invalid 'tools': mcp {where}.read_only is not supported.")
    extra = sorted(set(value) - {"tool_names"})
    if extra:
        raise _invalid(f"Invalid 'tools': mcp {where} does not support '{extra[0]}'.")
    return _names(value.get("tool_names", []), f"{where}.tool_names")


def _allowed_tools(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, list):
        return _names(value, "allowed_tools")
    return _filter(value, "allowed_tools")


def _approval(value: Any) -> McpApprovalPolicy:
    if value is None or value == "never":
        return McpApprovalPolicy()
    if value == "always":
        return McpApprovalPolicy(default=True)
    if not isinstance(value, dict) or not value or set(value) - {"always", "never"}:
        raise _invalid(
            'Invalid \'tools\': mcp require_approval must be "always", "never" or an '
            "object with always and/or never."
        )
    always = _filter(value["always"], "require_approval.always") if "always" in value else ()
    never = _filter(value["never"], "require_approval.never") if "never" in value else ()
    return McpApprovalPolicy(default="never" in value, always=always, never=never)


def mcp_tool_body(tool: Mcp) -> dict[str, Any]:
    """The tool as a response echoes it (never its headers)."""
    kept = builtin_tool_to_dict(tool)
    body = {
        name: kept[name]
        for name in ("type", "server_label", "server_url", "server_protocol", "server_description")
        if kept.get(name) is not None
    }
    if tool.allowed_tools is not None:
        body["allowed_tools"] = list(tool.allowed_tools)
    policy = tool.require_approval
    if not policy.always and not policy.never:
        body["require_approval"] = "always" if policy.default else "never"
    else:
        body["require_approval"] = {
            key: {"tool_names": list(names)}
            for key, names in (("always", policy.always), ("never", policy.never))
            if names
        }
    return body


# -- items in -------------------------------------------------------------------------------


def mcp_item_message(
    item_type: str, fields: dict[str, Any], item_id: str, position: int
) -> Message:
    """The message of an MCP item sent back in `input`."""
    where = f"input[{position}]"
    step = McpStep(item_type)
    if step is McpStep.APPROVAL_RESPONSE:
        request_id, approve = fields.get("approval_request_id"), fields.get("approve")
        if not isinstance(request_id, str) or not request_id or not isinstance(approve, bool):
            raise _invalid(
                f"Invalid '{where}': an mcp_approval_response needs approval_request_id and "
                "approve (true or false).",
                "input",
            )
        reason = _string(fields, "reason", where)
        result = BuiltinResultPart(request_id, MCP, McpApproval(approve, reason).to_json())
        return Message(Role.USER, (result,))
    label = _string(fields, "server_label", where)
    if not label:
        raise _invalid(f"Invalid '{where}': an {item_type} item needs server_label.", "input")
    if step is McpStep.LIST_TOOLS:
        tools = fields.get("tools", [])
        if not isinstance(tools, list) or not all(isinstance(t, dict) for t in tools):
            raise _invalid(f"Invalid '{where}.tools': expected a list of tools.", "input")
        error = _string(fields, "error", where)
        call = BuiltinCallPart(item_id, MCP, McpCallStep(step, label).to_json())
        listed = listed_tools(json.dumps({"tools": tools}))
        status = "failed" if error else "completed"
        result = BuiltinResultPart(item_id, MCP, listed_output(listed, error), status)
        return Message(Role.ASSISTANT, (call, result))
    name = _string(fields, "name", where) or ""
    arguments = _string(fields, "arguments", where) or "{}"
    if step is McpStep.APPROVAL_REQUEST:
        # The call part's own id differs from the request's, which the client answers with.
        asked = McpCallStep(step, label, name, arguments, item_id)
        return Message(Role.ASSISTANT, (BuiltinCallPart(f"{item_id}_call", MCP, asked.to_json()),))
    approval = _string(fields, "approval_request_id", where)
    call = BuiltinCallPart(
        item_id, MCP, McpCallStep(step, label, name, arguments, approval).to_json()
    )
    status = _string(fields, "status", where) or "completed"
    output = _string(fields, "output", where)
    error, failure, code = _error_of(fields.get("error"), where)
    if status not in ("completed", "failed", "incomplete") and output is None and error is None:
        return Message(Role.ASSISTANT, (call,))
    failed = status != "completed" or error is not None
    result = BuiltinResultPart(
        item_id, MCP, call_output(output, error, failure, code), "failed" if failed else "completed"
    )
    return Message(Role.ASSISTANT, (call, result))


def _error_of(value: Any, where: str) -> tuple[str | None, McpFailure, int | None]:
    """An `mcp_call` item's error: a string, or OpenAI's error object (its message, or its
    content's text), with where it failed and its code."""
    if value is None or isinstance(value, str):
        return value, McpFailure.PROTOCOL, None
    if isinstance(value, dict):
        try:
            failure = McpFailure(str(value.get("type")))
        except ValueError:
            failure = McpFailure.PROTOCOL
        code = value.get("code")
        code = code if isinstance(code, int) and not isinstance(code, bool) else None
        message, content = value.get("message"), value.get("content")
        if isinstance(message, str):
            return message, failure, code
        if isinstance(content, list):
            texts = [c.get("text") for c in content if isinstance(c, dict)]
            text = "".join(t for t in texts if isinstance(t, str))
            return text or "The tool failed.", failure, code
        if isinstance(content, str):
            return content, failure, code
    raise _invalid(f"Invalid '{where}.error': expected a string or an error object.", "input")


def _string(fields: dict[str, Any], name: str, where: str) -> str | None:
    value = fields.get(name)
    if value is not None and not isinstance(value, str):
        raise _invalid(f"Invalid '{where}.{name}': expected a string.", "input")
    return value


# -- items out ------------------------------------------------------------------------------


def mcp_item_body(
    item_id: str, call: BuiltinCallPart, result: BuiltinResultPart | None
) -> dict[str, Any]:
    """An MCP call part (and its result, once in) as its item."""
    step = McpCallStep.from_json(call.arguments)
    if step is None:  # not written here: shown as it is
        body = {"id": item_id, "type": "mcp_call", "arguments": call.arguments}
        return body | ({"output": result.output} if result is not None else {})
    head: dict[str, Any] = {
        "id": item_id,
        "type": str(step.step),
        "server_label": step.server_label,
    }
    if step.step is McpStep.LIST_TOOLS:
        output = _object(result.output) if result is not None else {}
        tools = [tool.to_dict() for tool in listed_tools(result.output)] if result else []
        error = output.get("error") if output else None
        return head | {"tools": tools} | ({"error": error} if isinstance(error, str) else {})
    head |= {"name": step.name, "arguments": step.arguments}
    if step.step is McpStep.APPROVAL_REQUEST:
        return head
    output = _object(result.output) if result is not None else None
    status = result.status if result is not None else "in_progress"
    body = head | {
        "status": status,
        "output": output.get("output") if output else None,
        "error": call_error(result.output) if result is not None else None,
    }
    if result is not None and output is None:
        body["output"] = result.output  # not written here: shown as it is
    if step.approval_request_id is not None:
        body["approval_request_id"] = step.approval_request_id
    return body


def approval_response_body(item_id: str, result: BuiltinResultPart) -> dict[str, Any] | None:
    """A client's `mcp_approval_response` as its item, or None when `result` is not one."""
    approval = McpApproval.from_json(result.output)
    if approval is None:
        return None
    return {
        "id": item_id,
        "type": "mcp_approval_response",
        "approval_request_id": result.call_id,
        "approve": approval.approve,
        "reason": approval.reason,
    }


def mcp_step(call: BuiltinCallPart) -> McpCallStep | None:
    return McpCallStep.from_json(call.arguments) if call.tool is MCP else None


def _object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
