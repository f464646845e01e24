"""The options of an upstream backend instance (`type = "openai_upstream"` in settings): one
OpenAI-compatible server, its dialect, and what its model can do."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from openscope.backends.openai_upstream.dialect import DialectName


class UpstreamOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # The base URL of its OpenAI-compatible API, e.g. http://127.0.0.1:8080/v1.
    url: str
    api_key: SecretStr | None = None
    dialect: DialectName = "openai"
    # What the served model can do; a request needing what it cannot is refused by name.
    tools: bool = True
    thinking: bool = False
    vision: bool = False
    json_schema: bool = True
    logprobs: bool = True
    context_length: int | None = Field(default=None, ge=1)
    max_connections: int = Field(default=100, ge=1)
    connect_timeout: float = Field(default=10.0, gt=0)
    first_byte_timeout: float = Field(default=600.0, gt=0)
    read_timeout: float = Field(default=300.0, gt=0)  # between two chunks of a stream

    @field_validator("url")
    @classmethod
    def _http(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return url.rstrip("/")
