"""The model's own chat template, read from the GGUF metadata and rendered with Jinja as
Hugging Face's tokenizers do."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from typing import Any, NoReturn

from jinja2.sandbox import ImmutableSandboxedEnvironment

from openscope.backends.llamacpp.tool_prompt import inline_tools
from openscope.core.messages import Message, Role, TextPart, ToolCallPart, ToolResultPart
from openscope.core.request import ToolSpec

# ChatML, for GGUFs that carry no template of their own.
CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + "
    "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


# Appended to a partial assistant message to find where its text ends in the rendered
# prompt: what the template writes after it closes the turn. Private-use characters, which
# no template treats specially (nor strips, as some strip the whitespace a prefix ends in).
PARTIAL_END = "\ue000openscope:partial-end\ue000"


def _raise(message: str) -> NoReturn:
    raise ValueError(message)


class ChatTemplate:
    def __init__(self, source: str, *, bos_token: str, eos_token: str) -> None:
        env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
        env.globals["raise_exception"] = _raise
        env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
        self._template = env.from_string(source)
        self.bos_token = bos_token
        self.eos_token = eos_token
        # A template that reads `tools` renders them (and past calls) itself; any other
        # gets them written into its messages, Hermes style.
        self.renders_tools = "tools" in source

    def render(
        self,
        messages: tuple[Message, ...],
        *,
        tools: tuple[ToolSpec, ...] = (),
        enable_thinking: bool | None = None,
        add_generation_prompt: bool = True,
        continue_final: bool = False,
    ) -> str:
        """The prompt text. `continue_final`: the last message is an assistant prefix (partial
        mode), and the prompt ends right after its text, its turn left open, so that the
        model's answer continues it."""
        if not continue_final:
            return self._render(messages, tools, enable_thinking, add_generation_prompt)
        last = messages[-1]
        marked = (*messages[:-1], replace(last, parts=(*last.parts, TextPart(PARTIAL_END))))
        text = self._render(marked, tools, enable_thinking, add_generation_prompt=False)
        end = text.rfind(PARTIAL_END)
        if end < 0:
            raise ValueError("the chat template does not render the partial assistant message")
        return text[:end]

    def _render(
        self,
        messages: tuple[Message, ...],
        tools: tuple[ToolSpec, ...],
        enable_thinking: bool | None,
        add_generation_prompt: bool,
    ) -> str:
        extra: dict[str, Any] = {}
        if enable_thinking is not None:
            extra["enable_thinking"] = enable_thinking  # read by Qwen3's templates
        if self.renders_tools:
            if tools:
                extra["tools"] = [_tool_dict(t) for t in tools]
            rendered = [_native_message(m) for m in messages]
        else:
            rendered = [_template_message(m) for m in inline_tools(messages, tools)]
        return self._template.render(
            messages=rendered,
            add_generation_prompt=add_generation_prompt,
            bos_token=self.bos_token,
            eos_token=self.eos_token,
            **extra,
        )


def _tool_dict(tool: ToolSpec) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": tool.name,
            "description": tool.description or "",
            "parameters": tool.parameters or {"type": "object", "properties": {}},
        },
    }


def _template_message(message: Message) -> dict[str, Any]:
    """A core message as the dict chat templates expect: role and string content."""
    return {"role": str(message.role), "content": message.text}


def _native_message(message: Message) -> dict[str, Any]:
    """A core message for a template that renders tool calls and results itself."""
    rendered: dict[str, Any] = {"role": str(message.role), "content": message.text}
    calls = message.tool_calls
    if calls:
        rendered["tool_calls"] = [
            {"type": "function", "id": c.id, "function": {"name": c.name, "arguments": _args(c)}}
            for c in calls
        ]
    if message.reasoning:
        rendered["reasoning_content"] = message.reasoning
    if message.role is Role.TOOL:
        results = [p for p in message.parts if isinstance(p, ToolResultPart)]
        rendered["content"] = "".join(r.text for r in results)
        if results:
            rendered["tool_call_id"] = results[0].tool_call_id
        if message.name:
            rendered["name"] = message.name
    return rendered


def _args(call: ToolCallPart) -> Any:
    try:
        return json.loads(call.arguments) if call.arguments.strip() else {}
    except (ValueError, RecursionError):  # malformed, or nested past the stack
        return call.arguments
