"""What the protocols ask of the rest of the server: one narrow interface, so a protocol
never imports the engine that implements it."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from typing import Protocol

from openscope.core.call import Call
from openscope.core.catalog.spec import ModelSpec
from openscope.core.events import Event
from openscope.core.principal import Principal
from openscope.core.request import GenerateRequest
from openscope.core.state import Conversation, Item, Order, Page, StoredResponse


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

    def generate(self, call: Call) -> AsyncGenerator[Event, None]:
        """The answer to `call`, as events.

        Everything that can be checked before generating is raised by the first `anext`,
        before any event: a protocol that waits for the first event can still answer such
        errors with a plain error response. Closing the iterator stops the generation."""
        ...

    async def count_tokens(self, request: GenerateRequest) -> int: ...


class ResponsesService(Protocol):
    """Stored responses and conversations, always in the caller's workspace (turns run
    through `GenerationService.generate`)."""

    async def get_response(self, principal: Principal, response_id: str) -> StoredResponse: ...

    async def delete_response(self, principal: Principal, response_id: str) -> None: ...

    async def list_input_items(
        self,
        principal: Principal,
        response_id: str,
        *,
        limit: int,
        order: Order,
        after: str | None,
    ) -> Page: ...

    async def create_conversation(
        self, principal: Principal, metadata: dict[str, str], items: tuple[Item, ...]
    ) -> Conversation: ...

    async def get_conversation(
        self, principal: Principal, conversation_id: str
    ) -> Conversation: ...

    async def update_conversation(
        self, principal: Principal, conversation_id: str, metadata: dict[str, str]
    ) -> Conversation: ...

    async def delete_conversation(self, principal: Principal, conversation_id: str) -> None: ...

    async def add_conversation_items(
        self, principal: Principal, conversation_id: str, items: tuple[Item, ...]
    ) -> tuple[Item, ...]: ...

    async def list_conversation_items(
        self,
        principal: Principal,
        conversation_id: str,
        *,
        limit: int,
        order: Order,
        after: str | None,
    ) -> Page: ...

    async def get_conversation_item(
        self, principal: Principal, conversation_id: str, item_id: str
    ) -> Item: ...

    async def delete_conversation_item(
        self, principal: Principal, conversation_id: str, item_id: str
    ) -> Conversation: ...
