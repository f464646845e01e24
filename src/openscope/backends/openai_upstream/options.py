"""The options of an upstream backend instance (`type = "openai_upstream"` in settings): the
replicas of one model on OpenAI-compatible servers (`url` for one, `deployments` for
several), their dialect (one for all, or each its own), what the model can do, and how to
fail over."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from openscope.backends.openai_upstream.dialect import DialectName
from openscope.parsing.pipeline import ToolFormat


def _http_url(url: str) -> str:
    if not url.startswith(("http://", "https://")):
        raise ValueError("must be an http:// or https:// URL")
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None:
        # URLs are logged; a key belongs in api_key, which never is.
        raise ValueError("must not hold credentials: give the key as api_key")
    return url.rstrip("/")


def _key_from(env_name: str | None, key: SecretStr | None) -> SecretStr | None:
    """The key given as `api_key`, or read from the environment variable `api_key_env`
    (so that a key can live in a secret store while the rest of the TOML does not)."""
    if env_name is None:
        return key
    if key is not None:
        raise ValueError("give either api_key or api_key_env, not both")
    value = os.environ.get(env_name)
    if not value:
        raise ValueError(f"api_key_env names {env_name}, which is not set in the environment")
    return SecretStr(value)


class Deployment(BaseModel):
    """One replica: the base URL of its OpenAI-compatible API, e.g. http://10.0.0.5:8000/v1."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str
    api_key: SecretStr | None = None
    api_key_env: str | None = None  # or the key from this environment variable
    weight: int = Field(default=1, ge=1)  # its share of the requests no affinity decides
    priority: int = Field(default=0, ge=0)  # 0 first; higher ones only when those fail
    max_concurrent: int | None = Field(default=None, ge=1)
    # The engine it runs, when not the backend's `dialect`: one model may be served by
    # vLLM on some machines and SGLang on others.
    dialect: DialectName | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, url: str) -> str:
        return _http_url(url)

    @model_validator(mode="after")
    def _key(self) -> Deployment:
        key = _key_from(self.api_key_env, self.api_key)
        if key is not self.api_key:
            object.__setattr__(self, "api_key", key)  # frozen: set once, while validating
        return self


class UpstreamOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str | None = None  # one replica; or `deployments` for several
    api_key: SecretStr | None = None  # for `url`
    api_key_env: str | None = None  # or the key of `url` from this environment variable
    deployments: tuple[Deployment, ...] = ()
    dialect: DialectName = "openai"
    # What the served model can do; a request needing what it cannot is refused by name.
    tools: bool = True
    thinking: bool = False
    vision: bool = False
    # Fetch every http(s) image here and send its bytes, even to an engine that would
    # fetch the URL itself: the server's fetcher refuses internal addresses, an engine's
    # own fetch (vLLM, llama-cpp-python) need not. Engines that read only inline images
    # (llama-server, Ollama) get their images fetched here whatever this says.
    fetch_images: bool = False
    # A model that hears audio (chat's input_audio) and one that can speak its answer
    # (Qwen-Omni): honoured where every replica's engine can carry it (dashscope, openai;
    # audio in also vllm and llama-server), refused by name elsewhere.
    audio_input: bool = False
    audio_output: bool = False
    json_schema: bool = True
    logprobs: bool = True
    context_length: int | None = Field(default=None, ge=1)
    # For an engine run without a tool-call or reasoning parser of its own, whose content
    # holds the model's raw text: openscope parses the tool calls (in this format) and,
    # with `thinking`, the think blocks.
    raw_tool_format: ToolFormat | None = None
    max_connections: int = Field(default=100, ge=1)
    connect_timeout: float = Field(default=10.0, gt=0)
    first_byte_timeout: float = Field(default=600.0, gt=0)
    read_timeout: float = Field(default=300.0, gt=0)  # between two chunks of a stream
    # Active health checks of every replica (the dialect's health endpoint); 0: none.
    health_interval_seconds: float = Field(default=10.0, ge=0)
    # How often each replica's engine is asked for its load (running and waiting requests,
    # from its metrics page, where its dialect has one); 0: never, only openscope's own
    # requests in flight count.
    load_interval_seconds: float = Field(default=1.0, ge=0)
    # Failover: other replicas tried before the first byte reaches the client.
    retries: int = Field(default=2, ge=0)
    failures_to_open: int = Field(default=3, ge=1)  # consecutive failures that cool a replica
    cooldown_seconds: float = Field(default=10.0, gt=0)

    @field_validator("url")
    @classmethod
    def _url(cls, url: str | None) -> str | None:
        return None if url is None else _http_url(url)

    @model_validator(mode="after")
    def _one_way(self) -> UpstreamOptions:
        if (self.url is None) == (not self.deployments):
            raise ValueError("give either url (one replica) or deployments (several)")
        key = _key_from(self.api_key_env, self.api_key)
        if key is not self.api_key:
            object.__setattr__(self, "api_key", key)  # frozen: set once, while validating
        return self

    def replicas(self) -> tuple[Deployment, ...]:
        """The replicas, each with its dialect (the backend's, unless it names its own)."""
        if self.url is not None:
            return (Deployment(url=self.url, api_key=self.api_key, dialect=self.dialect),)
        return tuple(
            d if d.dialect is not None else d.model_copy(update={"dialect": self.dialect})
            for d in self.deployments
        )
