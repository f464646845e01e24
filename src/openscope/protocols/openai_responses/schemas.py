"""Wire models of the Responses and Conversations APIs. Unknown fields are ignored (the
seed: only the parameters it lists are processed); types are checked here, ranges and
rules in `decode`."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class WireModel(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ContentPartWire(WireModel):
    type: str
    text: str | None = None
    image_url: str | None = None
    file_id: str | None = None
    detail: str | None = None


class ItemWire(WireModel):
    """Any input item; which fields matter depends on `type` (a message when absent). A
    built-in tool's item keeps its own fields (`action`, `code`, `outputs`, ...) as extras."""

    model_config = ConfigDict(extra="allow")

    type: str = "message"
    id: str | None = None
    role: str | None = None
    content: str | list[ContentPartWire] | None = None
    call_id: str | None = None
    name: str | None = None
    arguments: str | None = None
    output: str | list[ContentPartWire] | None = None
    summary: list[ContentPartWire] | None = None


class ConversationRef(WireModel):
    id: str


class ReasoningWire(WireModel):
    effort: str | None = None
    summary: str | None = None


class TextFormatWire(WireModel):
    type: str = "text"
    name: str | None = None
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    strict: bool | None = None


class TextWire(WireModel):
    format: TextFormatWire | None = None


class ToolWire(WireModel):
    model_config = ConfigDict(extra="allow")

    type: str
    name: str | None = None
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class AllowedTool(WireModel):
    type: str = "function"
    name: str


class ToolChoiceObject(WireModel):
    type: str
    name: str | None = None
    mode: str | None = None
    tools: list[AllowedTool] | None = None


class ResponseRequest(WireModel):
    model: str
    input: str | list[ItemWire] = Field(default_factory=list)
    instructions: str | None = None
    previous_response_id: str | None = None
    conversation: str | ConversationRef | None = None
    store: bool | None = True
    stream: bool | None = False
    tools: list[ToolWire] | None = None
    tool_choice: str | ToolChoiceObject | None = None
    parallel_tool_calls: bool | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_output_tokens: int | None = None
    enable_thinking: bool | None = None
    reasoning: ReasoningWire | None = None
    metadata: dict[str, str] | None = None
    text: TextWire | None = None


class ConversationCreate(WireModel):
    items: list[ItemWire] | None = None
    metadata: dict[str, str] | None = None


class ConversationUpdate(WireModel):
    metadata: dict[str, str]


class ItemsCreate(WireModel):
    items: list[ItemWire]
