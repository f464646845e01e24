"""Tools written into the prompt the way Qwen's chat templates do (Hermes style), for models
whose own template knows nothing of tools.

The tool list goes at the end of the system turn inside `<tools></tools>`, one JSON object
per line; past calls are written back as `<tool_call>` blocks in the assistant turn; tool
results go to the model in a user turn, each inside `<tool_response></tool_response>`.
"""

from __future__ import annotations

import json

from openscope.core.messages import Message, Part, Role, TextPart, ToolCallPart, ToolResultPart
from openscope.core.request import ToolSpec


def tools_block(tools: tuple[ToolSpec, ...]) -> str:
    signatures = "\n".join(
        json.dumps(
            {
                "type": "function",
                "function": {
                    "name": t.name,
                    "description": t.description or "",
                    "parameters": t.parameters or {"type": "object", "properties": {}},
                },
            },
            ensure_ascii=False,
        )
        for t in tools
    )
    return (
        "# Tools\n\n"
        "You can call functions to help answer the user. Their signatures are listed "
        "inside <tools></tools> XML tags:\n"
        f"<tools>\n{signatures}\n</tools>\n\n"
        "To call a function, answer with a JSON object holding the function's name and its "
        "arguments inside <tool_call></tool_call> XML tags, one block per call:\n"
        '<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>'
    )


def call_block(call: ToolCallPart) -> str:
    try:
        arguments: object = json.loads(call.arguments) if call.arguments.strip() else {}
    except (ValueError, RecursionError):  # malformed, or nested past the stack
        arguments = call.arguments
    body = json.dumps({"name": call.name, "arguments": arguments}, ensure_ascii=False)
    return f"<tool_call>\n{body}\n</tool_call>"


def _text(parts: tuple[Part, ...]) -> str:
    return "".join(p.text for p in parts if isinstance(p, TextPart))


def inline_tools(messages: tuple[Message, ...], tools: tuple[ToolSpec, ...]) -> tuple[Message, ...]:
    """The conversation rewritten as plain system/user/assistant text turns."""
    out: list[Message] = []
    block = tools_block(tools) if tools else ""
    if messages and messages[0].role is Role.SYSTEM:
        system = _text(messages[0].parts)
        rest = messages[1:]
    else:
        system, rest = "", messages
    if block:
        system = f"{system}\n\n{block}" if system else block
    if system:
        out.append(Message(Role.SYSTEM, (TextPart(system),)))
    for message in rest:
        if message.role is Role.ASSISTANT:
            pieces = [_text(message.parts)] if _text(message.parts) else []
            pieces += [call_block(p) for p in message.parts if isinstance(p, ToolCallPart)]
            out.append(Message(Role.ASSISTANT, (TextPart("\n".join(pieces)),)))
        elif message.role is Role.TOOL:
            results = [p for p in message.parts if isinstance(p, ToolResultPart)]
            text = "\n".join(f"<tool_response>\n{r.text}\n</tool_response>" for r in results)
            previous = out[-1] if out else None
            if (
                previous is not None
                and previous.role is Role.USER
                and previous.text.endswith("</tool_response>")
            ):
                # consecutive tool results share one user turn
                out[-1] = Message(Role.USER, (TextPart(f"{previous.text}\n{text}"),))
            else:
                out.append(Message(Role.USER, (TextPart(text),)))
        else:
            out.append(Message(message.role, (TextPart(_text(message.parts)),)))
    return tuple(out)
