"""The interface every backend implements, and what a backend can do."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any, Protocol

from openscope.core.events import Event
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
    audio_output: bool = False
    search: bool = False
    code_interpreter: bool = False


class Backend(Protocol):
    @property
    def features(self) -> BackendFeatures: ...

    def context_length(self, model: str) -> int | None:
        """The context window the backend serves `model` with, if it knows it."""
        ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    def generate(self, request: GenerateRequest, model: str) -> AsyncGenerator[Event, None]:
        """Stream the answer to `request` from the backend's model `model`.

        Raises `OpenScopeError`s; stops generating as soon as the iterator is closed."""
        ...

    async def count_tokens(self, request: GenerateRequest, model: str) -> int: ...


class BackendFactory(Protocol):
    def __call__(self, options: dict[str, Any]) -> Backend: ...
