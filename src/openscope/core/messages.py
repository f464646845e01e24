"""Conversation messages and the parts they are made of.

A message is a role plus an ordered tuple of parts. Every wire format's content shapes
(strings, content blocks, tool-call arrays, reasoning fields) decode into these parts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum

from openscope.core.builtin_tools import BuiltinToolKind


class Role(StrEnum):
    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"
    TOOL = "tool"


@dataclass(frozen=True, slots=True)
class CacheControl:
    """An explicit context-cache marker on a content part (only "ephemeral" exists)."""

    type: str = "ephemeral"
    # How long the cached prefix lives after its last use, in seconds (Anthropic's `ttl`);
    # None: the service's own life (Model Studio's is 5 minutes).
    ttl_seconds: int | None = None


@dataclass(frozen=True, slots=True)
class TextPart:
    text: str
    cache_control: CacheControl | None = None


@dataclass(frozen=True, slots=True)
class ImagePart:
    """An image given by URL (http(s) or a data: URL)."""

    url: str
    detail: str | None = None
    cache_control: CacheControl | None = None
    # Where the client put it, as its API names the place ("messages[1].content[0].image_url"),
    # for an error about this image; None when not known (an image kept from an earlier
    # turn). Not part of what the image is: two parts differing only here are equal.
    origin: str | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class AudioPart:
    """Audio the client sent (chat's `input_audio`): `data` as it came (base64, or a URL
    where the API takes one) and its `format` ("wav", "mp3", ...)."""

    data: str
    format: str
    # Where the client put it, as for ImagePart.origin.
    origin: str | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class ReasoningPart:
    """Model thinking. `signature` lets a client hand it back unchanged (Anthropic)."""

    text: str
    signature: str | None = None


@dataclass(frozen=True, slots=True)
class ToolCallPart:
    """A call the model asks the client to run. `arguments` is JSON text, as generated."""

    id: str
    name: str
    arguments: str
    cache_control: CacheControl | None = None


@dataclass(frozen=True, slots=True)
class ToolResultPart:
    """The client's answer to a tool call."""

    tool_call_id: str
    content: tuple[TextPart | ImagePart, ...]
    is_error: bool = False
    cache_control: CacheControl | None = None  # on the whole result (Anthropic's block)

    @property
    def text(self) -> str:
        return "".join(p.text for p in self.content if isinstance(p, TextPart))


@dataclass(frozen=True, slots=True)
class BuiltinCallPart:
    """A call the model made to a built-in tool, which the server runs. `arguments` is
    JSON text (the query, the code, the URLs), as the tool loop recorded it."""

    id: str
    tool: BuiltinToolKind
    arguments: str


@dataclass(frozen=True, slots=True)
class BuiltinResultPart:
    """What a built-in tool call returned: `output` is JSON text (sources, logs, results);
    `status` is "completed" or "failed"."""

    call_id: str
    tool: BuiltinToolKind
    output: str
    status: str = "completed"


Part = (
    TextPart
    | ImagePart
    | AudioPart
    | ReasoningPart
    | ToolCallPart
    | ToolResultPart
    | BuiltinCallPart
    | BuiltinResultPart
)


@dataclass(frozen=True, slots=True)
class Message:
    role: Role
    parts: tuple[Part, ...] = field(default_factory=tuple)
    name: str | None = None

    @property
    def text(self) -> str:
        """The concatenated visible text of the message (no reasoning, no tool traffic)."""
        return "".join(p.text for p in self.parts if isinstance(p, TextPart))

    @property
    def tool_calls(self) -> tuple[ToolCallPart, ...]:
        return tuple(p for p in self.parts if isinstance(p, ToolCallPart))

    @property
    def reasoning(self) -> str:
        return "".join(p.text for p in self.parts if isinstance(p, ReasoningPart))


def images_of(messages: Iterable[Message]) -> Iterator[ImagePart]:
    """The images of `messages` in order, those a tool's result holds included."""
    for message in messages:
        for part in message.parts:
            if isinstance(part, ImagePart):
                yield part
            elif isinstance(part, ToolResultPart):
                yield from (p for p in part.content if isinstance(p, ImagePart))
