"""The model's own chat template, read from the GGUF metadata and rendered with Jinja as
Hugging Face's tokenizers do."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NoReturn

from jinja2.sandbox import ImmutableSandboxedEnvironment

from openscope.core.messages import (
    ImagePart,
    Message,
    ReasoningPart,
    Role,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)

# ChatML, for GGUFs that carry no template of their own.
CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + "
    "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


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

    def render(self, messages: tuple[Message, ...], **extra: Any) -> str:
        return self._template.render(
            messages=[_template_message(m) for m in messages],
            add_generation_prompt=True,
            bos_token=self.bos_token,
            eos_token=self.eos_token,
            **extra,
        )


def _template_message(message: Message) -> dict[str, Any]:
    """A core message as the dict chat templates expect: role and string content."""
    texts: list[str] = []
    for part in message.parts:
        if isinstance(part, TextPart | ToolResultPart):
            texts.append(part.text)
        elif isinstance(part, ImagePart | ReasoningPart | ToolCallPart):
            continue  # not representable in a text-only template; callers refuse them
    rendered: dict[str, Any] = {"role": str(message.role), "content": "".join(texts)}
    if message.role is Role.TOOL and message.name:
        rendered["name"] = message.name
    return rendered
