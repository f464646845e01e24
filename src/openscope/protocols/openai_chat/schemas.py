"""Wire models: exactly what Model Studio's Chat Completions API accepts.

Unknown fields are ignored, as Model Studio ignores parameters it does not list. Types
are checked here; ranges and cross-field rules are checked in `decode`, with Model
Studio's own messages.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class WireModel(BaseModel):
    model_config = ConfigDict(extra="ignore")


class CacheControlWire(WireModel):
    type: str


class ImageURL(WireModel):
    url: str
    detail: str | None = None


class InputAudioWire(WireModel):
    data: str
    format: str


class ContentPartWire(WireModel):
    type: str
    text: str | None = None
    image_url: ImageURL | str | None = None
    input_audio: InputAudioWire | None = None
    cache_control: CacheControlWire | None = None


class FunctionCallWire(WireModel):
    name: str
    arguments: str | dict[str, Any] = ""


class ToolCallWire(WireModel):
    id: str | None = None
    type: str = "function"
    index: int | None = None
    function: FunctionCallWire


class MessageWire(WireModel):
    role: str
    content: str | list[ContentPartWire] | None = None
    name: str | None = None
    tool_calls: list[ToolCallWire] | None = None
    tool_call_id: str | None = None
    reasoning_content: str | None = None
    partial: bool | None = None


class StreamOptions(WireModel):
    include_usage: bool = False


class JsonSchemaWire(WireModel):
    name: str | None = None
    description: str | None = None
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    strict: bool | None = None


class ResponseFormatWire(WireModel):
    type: str
    json_schema: JsonSchemaWire | None = None


class FunctionWire(WireModel):
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class ToolWire(WireModel):
    type: str = "function"
    function: FunctionWire


class NamedFunction(WireModel):
    name: str


class ToolChoiceWire(WireModel):
    type: Literal["function"] = "function"
    function: NamedFunction


class ChatCompletionRequest(WireModel):
    model: str
    messages: list[MessageWire]
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    modalities: list[str] | None = None
    audio: dict[str, Any] | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    presence_penalty: float | None = None
    response_format: ResponseFormatWire | None = None
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    vl_high_resolution_images: bool | None = None
    n: int | None = None
    enable_thinking: bool | None = None
    thinking_budget: int | None = None
    enable_code_interpreter: bool | None = None
    seed: int | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = None
    stop: str | list[str | int | list[int]] | None = None
    tools: list[ToolWire] | None = None
    tool_choice: str | ToolChoiceWire | None = None
    parallel_tool_calls: bool | None = None
    enable_search: bool | None = None
    search_options: dict[str, Any] | None = None
    # An extension: the MCP servers this server's settings declare, by label.
    mcp_servers: Any = None
