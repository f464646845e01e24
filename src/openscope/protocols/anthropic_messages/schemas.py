"""Wire models: what the Anthropic-compatible Messages API accepts.

Unknown fields are ignored (the seed: parameters it does not list are ignored). Types are
checked here; ranges and cross-field rules in `decode`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class WireModel(BaseModel):
    model_config = ConfigDict(extra="ignore")


class CacheControlWire(WireModel):
    type: str
    ttl: str | None = None


class TextBlock(WireModel):
    type: Literal["text"]
    text: str
    cache_control: CacheControlWire | None = None


class ImageSource(WireModel):
    type: Literal["base64", "url"]
    media_type: str | None = None
    data: str | None = None
    url: str | None = None


class ImageBlock(WireModel):
    type: Literal["image"]
    source: ImageSource
    cache_control: CacheControlWire | None = None


class ToolUseBlock(WireModel):
    type: Literal["tool_use"]
    id: str
    name: str
    input: dict[str, Any] = Field(default_factory=dict)
    cache_control: CacheControlWire | None = None


class ToolResultBlock(WireModel):
    type: Literal["tool_result"]
    tool_use_id: str
    content: str | list[Annotated[TextBlock | ImageBlock, Field(discriminator="type")]] = ""
    is_error: bool = False
    cache_control: CacheControlWire | None = None


class ThinkingBlock(WireModel):
    type: Literal["thinking"]
    thinking: str
    signature: str | None = None


class RedactedThinkingBlock(WireModel):
    type: Literal["redacted_thinking"]
    data: str


class ServerToolUseBlock(WireModel):
    """A server tool's call, as a client hands back an earlier answer."""

    type: Literal["server_tool_use"]
    id: str
    name: str
    input: dict[str, Any] = Field(default_factory=dict)


class WebSearchResultBlock(WireModel):
    type: Literal["web_search_result"]
    url: str
    title: str
    encrypted_content: str
    page_age: str | None = None


class WebSearchToolResultError(WireModel):
    type: Literal["web_search_tool_result_error"]
    error_code: str


class WebSearchToolResultBlock(WireModel):
    """A web search's result, as a client hands back an earlier answer."""

    type: Literal["web_search_tool_result"]
    tool_use_id: str
    content: list[WebSearchResultBlock] | WebSearchToolResultError


ContentBlock = Annotated[
    TextBlock
    | ImageBlock
    | ToolUseBlock
    | ToolResultBlock
    | ThinkingBlock
    | RedactedThinkingBlock
    | ServerToolUseBlock
    | WebSearchToolResultBlock,
    Field(discriminator="type"),
]


class MessageWire(WireModel):
    role: str
    content: str | list[ContentBlock]


class ThinkingWire(WireModel):
    type: Literal["enabled", "disabled", "adaptive"]
    budget_tokens: int | None = None


class OutputConfigWire(WireModel):
    effort: str | None = None


class ToolWire(WireModel):
    """A client tool, or a server tool (`type` names it). A server tool's own fields are
    typed loosely here and checked in `decode`, with Anthropic's messages."""

    name: str
    description: str | None = None
    input_schema: dict[str, Any] = Field(default_factory=lambda: {"type": "object"})
    type: str | None = None
    cache_control: CacheControlWire | None = None
    # web_search_20250305's
    max_uses: Any = None
    allowed_domains: Any = None
    blocked_domains: Any = None
    user_location: Any = None


class ToolChoiceWire(WireModel):
    type: Literal["auto", "any", "none", "tool"]
    name: str | None = None
    disable_parallel_tool_use: bool | None = None


class MetadataWire(WireModel):
    """Anthropic's request metadata: only `user_id`, an opaque id of the end user (Claude
    Code and agent frameworks send it). Bounded as Anthropic bounds it; other keys are
    refused rather than kept unread."""

    model_config = ConfigDict(extra="forbid")

    user_id: str | None = Field(default=None, max_length=256)


class CountTokensRequest(WireModel):
    model: str
    messages: list[MessageWire]
    system: str | list[TextBlock] | None = None
    tools: list[ToolWire] | None = None
    tool_choice: ToolChoiceWire | None = None
    thinking: ThinkingWire | None = None
    # An extension: the MCP servers this server's settings declare, by label.
    mcp_servers: Any = None


class MessagesRequest(CountTokensRequest):
    max_tokens: int
    stream: bool | None = False
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    stop_sequences: list[str] | None = None
    output_config: OutputConfigWire | None = None
    metadata: MetadataWire | None = None
