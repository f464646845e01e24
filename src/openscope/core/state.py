"""Durable conversation state, as core types: the items of a conversation, stored
responses, and conversations. The store persists these; protocols render them."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from openscope.core.builtin_tools import BuiltinTool
from openscope.core.events import Usage
from openscope.core.messages import Message
from openscope.core.principal import DEFAULT_WORKSPACE
from openscope.core.request import ResponseFormat, ThinkingConfig, ToolChoice, ToolSpec


@dataclass(frozen=True, slots=True)
class Item:
    """One item of a conversation: a message, a function call, a function call's output or
    a piece of reasoning, each held as one core message."""

    id: str
    message: Message
    created_at: int = 0


class ResponseStatus(StrEnum):
    COMPLETED = "completed"
    INCOMPLETE = "incomplete"
    FAILED = "failed"
    IN_PROGRESS = "in_progress"


@dataclass(frozen=True, slots=True)
class TurnSettings:
    """What a stored response was asked with, so it can be echoed back and chained on."""

    instructions: str | None = None
    tools: tuple[ToolSpec, ...] = ()
    builtin_tools: tuple[BuiltinTool, ...] = ()  # echoed beside the function tools
    tool_choice: ToolChoice = field(default_factory=ToolChoice)
    parallel_tool_calls: bool = True
    temperature: float | None = None
    top_p: float | None = None
    max_output_tokens: int | None = None
    thinking: ThinkingConfig = field(default_factory=ThinkingConfig)
    response_format: ResponseFormat = field(default_factory=ResponseFormat)
    reasoning_effort: str | None = None  # as asked (Responses `reasoning.effort`), for echoing
    metadata: dict[str, str] = field(default_factory=dict)
    store: bool = True


@dataclass(frozen=True, slots=True)
class ResponseError:
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """A finished (completed, incomplete or failed) response and the items of its turn.

    `input_items` are the items this turn added (not the history it was chained on);
    the full context is rebuilt by following `previous_response_id`."""

    id: str
    created_at: int
    expires_at: int
    model: str
    status: ResponseStatus
    settings: TurnSettings
    input_items: tuple[Item, ...]
    output_items: tuple[Item, ...]
    usage: Usage = field(default_factory=Usage)
    previous_response_id: str | None = None
    conversation_id: str | None = None
    error: ResponseError | None = None
    incomplete_reason: str | None = None
    workspace: str = DEFAULT_WORKSPACE  # the owner: other workspaces never see it


@dataclass(frozen=True, slots=True)
class Conversation:
    id: str
    created_at: int
    metadata: dict[str, str] = field(default_factory=dict)
    workspace: str = DEFAULT_WORKSPACE  # the owner: other workspaces never see it


class Order(StrEnum):
    ASC = "asc"
    DESC = "desc"


@dataclass(frozen=True, slots=True)
class Page:
    """One page of items, in the order asked for."""

    items: tuple[Item, ...]
    has_more: bool


JSON = dict[str, Any]
