"""Stored state, as the Responses and Conversations APIs read and change it: stored
responses and conversations, always in the caller's workspace. Implements the core
`ResponsesService`; turns themselves run through the pipeline (`stages/record.py`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from openscope.core import ids
from openscope.core.errors import NotFound
from openscope.core.principal import Principal
from openscope.core.state import Conversation, Item, Order, Page, StoredResponse
from openscope.engine.stages.record import conversation_missing
from openscope.store import Store

log = logging.getLogger("openscope.responses")


def _response_missing(response_id: str) -> NotFound:
    return NotFound(f"Response with id '{response_id}' not found.", param="response_id")


class Responses:
    def __init__(self, store: Store, *, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock

    def _now(self) -> int:
        return int(self._clock())

    # -- stored responses -----------------------------------------------------------------

    async def get_response(self, principal: Principal, response_id: str) -> StoredResponse:
        record = await self._store.get_response(principal.workspace, response_id, now=self._now())
        if record is None:
            raise _response_missing(response_id)
        return record

    async def delete_response(self, principal: Principal, response_id: str) -> None:
        if not await self._store.delete_response(principal.workspace, response_id):
            raise _response_missing(response_id)

    async def list_input_items(
        self,
        principal: Principal,
        response_id: str,
        *,
        limit: int,
        order: Order,
        after: str | None,
    ) -> Page:
        page = await self._store.list_input_items(
            principal.workspace, response_id, limit=limit, order=order, after=after, now=self._now()
        )
        if page is None:  # unknown, expired, or another workspace's
            raise _response_missing(response_id)
        return page

    async def purge_expired(self) -> int:
        """Delete the responses whose retention has run out; how many were deleted."""
        purged = await self._store.purge_expired(self._now())
        if purged:
            log.info("purged %d expired responses", purged)
        return purged

    # -- conversations --------------------------------------------------------------------

    async def create_conversation(
        self, principal: Principal, metadata: dict[str, str], items: tuple[Item, ...]
    ) -> Conversation:
        conversation = Conversation(
            ids.conversation_id(), self._now(), metadata, workspace=principal.workspace
        )
        await self._store.create_conversation(conversation, items)
        return conversation

    async def get_conversation(self, principal: Principal, conversation_id: str) -> Conversation:
        conversation = await self._store.get_conversation(principal.workspace, conversation_id)
        if conversation is None:
            raise conversation_missing(conversation_id)
        return conversation

    async def update_conversation(
        self, principal: Principal, conversation_id: str, metadata: dict[str, str]
    ) -> Conversation:
        conversation = await self._store.update_conversation(
            principal.workspace, conversation_id, metadata
        )
        if conversation is None:
            raise conversation_missing(conversation_id)
        return conversation

    async def delete_conversation(self, principal: Principal, conversation_id: str) -> None:
        if not await self._store.delete_conversation(principal.workspace, conversation_id):
            raise conversation_missing(conversation_id)

    async def add_conversation_items(
        self, principal: Principal, conversation_id: str, items: tuple[Item, ...]
    ) -> tuple[Item, ...]:
        if not await self._store.add_conversation_items(
            principal.workspace, conversation_id, items
        ):
            raise conversation_missing(conversation_id)
        return items

    async def list_conversation_items(
        self,
        principal: Principal,
        conversation_id: str,
        *,
        limit: int,
        order: Order,
        after: str | None,
    ) -> Page:
        page = await self._store.list_conversation_items(
            principal.workspace, conversation_id, limit=limit, order=order, after=after
        )
        if page is None:
            raise conversation_missing(conversation_id)
        return page

    async def get_conversation_item(
        self, principal: Principal, conversation_id: str, item_id: str
    ) -> Item:
        item = await self._store.get_conversation_item(
            principal.workspace, conversation_id, item_id
        )
        if item is None:
            await self.get_conversation(principal, conversation_id)
            raise NotFound(f"Item with id '{item_id}' not found.", param="item_id")
        return item

    async def delete_conversation_item(
        self, principal: Principal, conversation_id: str, item_id: str
    ) -> Conversation:
        conversation = await self.get_conversation(principal, conversation_id)
        if not await self._store.delete_conversation_item(
            principal.workspace, conversation_id, item_id
        ):
            raise NotFound(f"Item with id '{item_id}' not found.", param="item_id")
        return conversation
