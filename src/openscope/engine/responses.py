"""Stateful turns: history from stored responses or a conversation, generation through the
engine, and the record kept afterwards. Implements the core `ResponsesService`."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import replace

from openscope.core import ids
from openscope.core.errors import (
    INTERNAL_ERROR_MESSAGE,
    InvalidParameter,
    NotFound,
    OpenScopeError,
    error_code,
)
from openscope.core.events import Event
from openscope.core.fold import Folder
from openscope.core.messages import Message, Role, TextPart
from openscope.core.state import Conversation, Item, Order, Page, ResponseError, StoredResponse
from openscope.core.turns import Turn, turn_record
from openscope.engine.engine import Engine
from openscope.store import Store

log = logging.getLogger("openscope.responses")


def merge_assistant_turns(messages: tuple[Message, ...]) -> tuple[Message, ...]:
    """Responses items are one message each; consecutive assistant items (reasoning, text,
    parallel function calls) are one assistant turn to the model, as chat would send it."""
    merged: list[Message] = []
    for message in messages:
        previous = merged[-1] if merged else None
        if previous is not None and previous.role is Role.ASSISTANT is message.role:
            merged[-1] = replace(previous, parts=previous.parts + message.parts)
        else:
            merged.append(message)
    return tuple(merged)


DEFAULT_RETENTION = 7 * 24 * 3600  # Model Studio keeps a response id valid for 7 days


def _conversation_missing(conversation_id: str) -> NotFound:
    return NotFound(f"Conversation with id '{conversation_id}' not found.", param="conversation")


class Responses:
    def __init__(
        self,
        engine: Engine,
        store: Store,
        *,
        retention_seconds: int = DEFAULT_RETENTION,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._engine = engine
        self._store = store
        self._retention = retention_seconds
        self._clock = clock

    def _now(self) -> int:
        return int(self._clock())

    # -- turns ----------------------------------------------------------------------------

    async def run_turn(self, turn: Turn, *, stream: bool) -> AsyncGenerator[Event, None]:
        history = await self._history(turn)
        instructions = turn.settings.instructions
        preamble = (Message(Role.SYSTEM, (TextPart(instructions),)),) if instructions else ()
        # Instructions are this turn's only: a chained turn never inherits the previous ones.
        messages = merge_assistant_turns(preamble + history + turn.request.messages)
        events = await self._engine.generate(
            replace(turn.request, messages=messages), stream=stream
        )
        return self._recorded(turn, events)

    async def _history(self, turn: Turn) -> tuple[Message, ...]:
        if turn.previous_response_id:
            chain = await self._store.response_chain(turn.previous_response_id, now=self._now())
            if chain is None:
                raise InvalidParameter(
                    f"Not found previous_response_id: {turn.previous_response_id}",
                    param="previous_response_id",
                )
            return tuple(item.message for r in chain for item in (*r.input_items, *r.output_items))
        if turn.conversation_id:
            items = await self._store.conversation_items(turn.conversation_id)
            if items is None:
                raise _conversation_missing(turn.conversation_id)
            taken = {item.id for item in items}
            for item in turn.input_items:  # refuse now, not after generating
                if item.id in taken:
                    raise InvalidParameter(
                        f"Item with id '{item.id}' already exists in conversation "
                        f"'{turn.conversation_id}'.",
                        param="input",
                    )
            return tuple(item.message for item in items)
        return ()

    async def _recorded(
        self, turn: Turn, events: AsyncGenerator[Event, None]
    ) -> AsyncGenerator[Event, None]:
        """Pass the events on, then keep the turn: stored (unless `store` is false) and
        appended to its conversation, before the iterator ends. A client that hangs up
        leaves nothing behind: only finished turns are kept."""
        folder = Folder()
        failure: ResponseError | None = None
        try:
            async for event in events:
                folder.add(event)
                yield event
        except OpenScopeError as error:
            failure = ResponseError(error_code(error), error.message)
            await self._keep(turn, folder, failure)
            raise
        except Exception:
            await self._keep(turn, folder, ResponseError("internal_error", INTERNAL_ERROR_MESSAGE))
            raise
        finally:
            await events.aclose()
        await self._keep(turn, folder, failure)

    async def _keep(self, turn: Turn, folder: Folder, failure: ResponseError | None) -> None:
        record = turn_record(
            turn, folder.result(), expires_at=self._now() + self._retention, error=failure
        )
        if turn.settings.store:
            await self._store.save_response(record)
        elif turn.conversation_id:
            items = (*record.input_items, *record.output_items)
            if not await self._store.add_conversation_items(turn.conversation_id, items):
                raise _conversation_missing(turn.conversation_id)

    # -- stored responses -----------------------------------------------------------------

    async def get_response(self, response_id: str) -> StoredResponse:
        record = await self._store.get_response(response_id, now=self._now())
        if record is None:
            raise NotFound(f"Response with id '{response_id}' not found.", param="response_id")
        return record

    async def delete_response(self, response_id: str) -> None:
        if not await self._store.delete_response(response_id):
            raise NotFound(f"Response with id '{response_id}' not found.", param="response_id")

    async def list_input_items(
        self, response_id: str, *, limit: int, order: Order, after: str | None
    ) -> Page:
        await self.get_response(response_id)  # 404 for unknown or expired ids
        return await self._store.list_input_items(
            response_id, limit=limit, order=order, after=after
        )

    async def purge_forever(self, interval: float) -> None:
        """Delete expired responses every `interval` seconds, until cancelled."""
        while True:
            try:
                purged = await self._store.purge_expired(self._now())
                if purged:
                    log.info("purged %d expired responses", purged)
            except Exception:
                log.exception("purging expired responses failed")
            await asyncio.sleep(interval)

    # -- conversations --------------------------------------------------------------------

    async def create_conversation(
        self, metadata: dict[str, str], items: tuple[Item, ...]
    ) -> Conversation:
        conversation = Conversation(ids.conversation_id(), self._now(), metadata)
        await self._store.create_conversation(conversation, items)
        return conversation

    async def get_conversation(self, conversation_id: str) -> Conversation:
        conversation = await self._store.get_conversation(conversation_id)
        if conversation is None:
            raise _conversation_missing(conversation_id)
        return conversation

    async def update_conversation(
        self, conversation_id: str, metadata: dict[str, str]
    ) -> Conversation:
        conversation = await self._store.update_conversation(conversation_id, metadata)
        if conversation is None:
            raise _conversation_missing(conversation_id)
        return conversation

    async def delete_conversation(self, conversation_id: str) -> None:
        if not await self._store.delete_conversation(conversation_id):
            raise _conversation_missing(conversation_id)

    async def add_conversation_items(
        self, conversation_id: str, items: tuple[Item, ...]
    ) -> tuple[Item, ...]:
        if not await self._store.add_conversation_items(conversation_id, items):
            raise _conversation_missing(conversation_id)
        return items

    async def list_conversation_items(
        self, conversation_id: str, *, limit: int, order: Order, after: str | None
    ) -> Page:
        page = await self._store.list_conversation_items(
            conversation_id, limit=limit, order=order, after=after
        )
        if page is None:
            raise _conversation_missing(conversation_id)
        return page

    async def get_conversation_item(self, conversation_id: str, item_id: str) -> Item:
        item = await self._store.get_conversation_item(conversation_id, item_id)
        if item is None:
            await self.get_conversation(conversation_id)
            raise NotFound(f"Item with id '{item_id}' not found.", param="item_id")
        return item

    async def delete_conversation_item(self, conversation_id: str, item_id: str) -> Conversation:
        conversation = await self.get_conversation(conversation_id)
        if not await self._store.delete_conversation_item(conversation_id, item_id):
            raise NotFound(f"Item with id '{item_id}' not found.", param="item_id")
        return conversation
