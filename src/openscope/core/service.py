"""What the protocols ask of the rest of the server: one narrow interface, so a protocol
never imports the engine that implements it."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from typing import Protocol

from openscope.core.catalog.spec import ModelSpec
from openscope.core.events import Event
from openscope.core.request import GenerateRequest
from openscope.core.state import Conversation, Item, Order, Page, StoredResponse
from openscope.core.turns import Turn


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


class ResponsesService(Protocol):
    """Stateful turns and what they leave behind: stored responses and conversations."""

    async def run_turn(self, turn: Turn, *, stream: bool) -> AsyncGenerator[Event, None]:
        """Load the turn's history, validate, and stream the answer. The response is stored
        (when `turn.settings.store`) and appended to its conversation before the iterator
        ends, so a client told it completed can read it back at once."""
        ...

    async def get_response(self, response_id: str) -> StoredResponse: ...

    async def delete_response(self, response_id: str) -> None: ...

    async def list_input_items(
        self, response_id: str, *, limit: int, order: Order, after: str | None
    ) -> Page: ...

    async def create_conversation(
        self, metadata: dict[str, str], items: tuple[Item, ...]
    ) -> Conversation: ...

    async def get_conversation(self, conversation_id: str) -> Conversation: ...

    async def update_conversation(
        self, conversation_id: str, metadata: dict[str, str]
    ) -> Conversation: ...

    async def delete_conversation(self, conversation_id: str) -> None: ...

    async def add_conversation_items(
        self, conversation_id: str, items: tuple[Item, ...]
    ) -> tuple[Item, ...]: ...

    async def list_conversation_items(
        self, conversation_id: str, *, limit: int, order: Order, after: str | None
    ) -> Page: ...

    async def get_conversation_item(self, conversation_id: str, item_id: str) -> Item: ...

    async def delete_conversation_item(
        self, conversation_id: str, item_id: str
    ) -> Conversation: ...
