"""The interface every backend implements, and what a backend can do."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from pydantic import BaseModel

from openscope.core.builtin_tools import BuiltinToolKind
from openscope.core.events import Event
from openscope.core.media import ImageFetcher
from openscope.core.request import GenerateRequest


@dataclass(frozen=True, slots=True)
class BackendFeatures:
    """Features this backend implementation supports. A request that needs one it lacks is
    refused with a clear error naming the parameter, never served with the feature dropped."""

    tools: bool = False
    thinking: bool = False
    json_object: bool = False
    json_schema: bool = False
    logprobs: bool = False
    multiple_choices: bool = False
    vision: bool = False
    audio_input: bool = False  # chat's input_audio parts reach the model
    audio_output: bool = False  # the model can speak its answer (modalities with "audio")
    # The built-in tools this backend's models can use (the tool loop runs them).
    builtin_tools: frozenset[BuiltinToolKind] = frozenset()
    # `cache_control` markers and the Responses session cache are honoured: the marked
    # prefix is kept for its time to live and reported as cache creation and hits.
    explicit_cache: bool = False


@dataclass(frozen=True, slots=True)
class EngineMetrics:
    """A snapshot of a backend's own engine, for the metrics endpoint. Counters only grow."""

    queue_depth: int = 0  # requests waiting for a free sequence
    running_sequences: int = 0  # sequences being prefilled or decoded
    parallel_sequences: int = 0  # how many can run at once
    kv_used_tokens: int = 0  # KV cells held by running sequences and the prefix cache
    kv_reserved_tokens: int = 0  # KV cells counted against admission (written or promised)
    kv_capacity_tokens: int = 0
    cached_prefixes: int = 0  # entries in the prefix cache
    cache_hit_tokens_total: int = 0  # prompt tokens served from the cache
    prompt_tokens_total: int = 0  # prompt tokens of admitted requests
    generated_tokens_total: int = 0
    tokens_per_second: float = 0.0  # generated, over the last few seconds
    rejected_total: int = 0  # requests answered "overloaded"


class Backend(Protocol):
    def features(self, model: str) -> BackendFeatures:
        """What this backend can do for its model `model` (models behind one backend may
        differ: an upstream serves several)."""
        ...

    def context_length(self, model: str) -> int | None:
        """The context window the backend serves `model` with, if it knows it."""
        ...

    async def start(self) -> None: ...

    @property
    def healthy(self) -> bool:
        """The backend can serve: False once its engine has died (then `/health` answers
        503, so a supervisor restarts the process)."""
        ...

    async def close(self) -> None: ...

    def generate(self, request: GenerateRequest, model: str) -> AsyncGenerator[Event, None]:
        """Stream the answer to `request` from the backend's model `model`.

        Raises `OpenScopeError`s; stops generating as soon as the iterator is closed."""
        ...

    async def count_tokens(self, request: GenerateRequest, model: str) -> int: ...

    def metrics(self) -> EngineMetrics | None:
        """The engine's state now, or None for a backend that runs no engine of its own."""
        ...


OptionsT = TypeVar("OptionsT", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class BackendServices:
    """What the server lends the backends it builds, made once at startup and shared:
    `images` fetches an image URL under the server's SSRF rules (for an engine that takes
    images only as bytes)."""

    images: ImageFetcher | None = None


@dataclass(frozen=True, slots=True)
class BackendType(Generic[OptionsT]):
    """What a backend type registers under its name, built in or a plugin's entry point:
    the pydantic model its options must match and how to build a backend from them.

    Give `options` `extra="forbid"`, so a misspelt option fails at startup instead of being
    ignored, and keep its module free of the runtime's heavy imports: options are checked
    before any backend is built."""

    options: type[OptionsT]
    create: Callable[[OptionsT], Backend]
    # A backend that uses the server's services is built by this instead, when given.
    create_with: Callable[[OptionsT, BackendServices], Backend] | None = None
