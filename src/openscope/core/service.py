"""What the protocols ask of the rest of the server: one narrow interface, so a protocol
never imports the engine that implements it."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from typing import Protocol

from openscope.core.catalog.spec import ModelSpec
from openscope.core.events import Event
from openscope.core.request import GenerateRequest


@dataclass(frozen=True, slots=True)
class ServedModel:
    """A model name this server answers to."""

    id: str
    spec: ModelSpec
    created: int
    owned_by: str


class GenerationService(Protocol):
    def models(self) -> Sequence[ServedModel]: ...

    def model(self, name: str) -> ServedModel:
        """The served model called `name`; raises `ModelNotFound`."""
        ...

    async def generate(
        self, request: GenerateRequest, *, stream: bool
    ) -> AsyncGenerator[Event, None]:
        """Validate `request` against its model, then stream the answer.

        Everything that can be checked before generating is checked before the iterator
        is returned, so a protocol can answer such errors with a plain error response."""
        ...

    async def count_tokens(self, request: GenerateRequest) -> int: ...
