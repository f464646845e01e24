"""Record state: a Responses turn gets its history (from the previous response's chain or
its conversation, in the caller's workspace) before it runs, and is kept after: stored
(unless `store` is false) and appended to its conversation, before the stream ends, so a
client told it completed can read it back at once. The record as kept is the stream's last
event (`TurnRecorded`). A client that hangs up leaves nothing behind: only finished turns
are kept. Calls without a turn (chat, Anthropic) pass straight through."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from dataclasses import replace

from openscope.core.call import Call
from openscope.core.errors import (
    INTERNAL_ERROR_MESSAGE,
    InvalidParameter,
    NotFound,
    OpenScopeError,
    error_code,
)
from openscope.core.events import Event, TurnRecorded
from openscope.core.fold import Folder
from openscope.core.messages import Message, Role, TextPart
from openscope.core.state import ResponseError, StoredResponse
from openscope.core.turns import Turn, continues_conversation, turn_record
from openscope.engine.pipeline import Next
from openscope.store import Store

DEFAULT_RETENTION = 7 * 24 * 3600  # Model Studio keeps a response id valid for 7 days


def conversation_missing(conversation_id: str) -> NotFound:
    return NotFound(f"Conversation with id '{conversation_id}' not found.", param="conversation")


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


class RecordTurn:
    def __init__(
        self,
        store: Store,
        *,
        retention_seconds: int = DEFAULT_RETENTION,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._retention = retention_seconds
        self._clock = clock

    def _now(self) -> int:
        return int(self._clock())

    def __call__(self, call: Call, next: Next) -> AsyncGenerator[Event, None]:
        if call.turn is None:
            return next(call)  # no turn to keep: the events go straight to the caller
        return self._recorded(call, call.turn, next)

    async def _recorded(self, call: Call, turn: Turn, next: Next) -> AsyncGenerator[Event, None]:
        workspace = call.principal.workspace
        history = await self._history(turn, workspace)
        instructions = turn.settings.instructions
        preamble = (Message(Role.SYSTEM, (TextPart(instructions),)),) if instructions else ()
        # Instructions are this turn's only: a chained turn never inherits the previous ones.
        messages = merge_assistant_turns(preamble + history + call.request.messages)
        folder = Folder()
        with_history = replace(call, request=replace(call.request, messages=messages))
        async with aclosing(next(with_history)) as events:
            try:
                async for event in events:
                    folder.add(event)
                    yield event
            except OpenScopeError as error:
                failure = ResponseError(error_code(error), error.message)
                yield TurnRecorded(await self._keep(turn, workspace, folder, failure))
                raise
            except Exception:
                failure = ResponseError("internal_error", INTERNAL_ERROR_MESSAGE)
                yield TurnRecorded(await self._keep(turn, workspace, folder, failure))
                raise
        yield TurnRecorded(await self._keep(turn, workspace, folder, None))

    async def _history(self, turn: Turn, workspace: str) -> tuple[Message, ...]:
        if turn.previous_response_id:
            chain = await self._store.response_chain(
                workspace, turn.previous_response_id, now=self._now()
            )
            if chain is None:
                raise InvalidParameter(
                    f"Not found previous_response_id: {turn.previous_response_id}",
                    param="previous_response_id",
                )
            return tuple(item.message for r in chain for item in (*r.input_items, *r.output_items))
        if turn.conversation_id:
            items = await self._store.conversation_items(workspace, turn.conversation_id)
            if items is None:
                raise conversation_missing(turn.conversation_id)
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

    async def _keep(
        self, turn: Turn, workspace: str, folder: Folder, failure: ResponseError | None
    ) -> StoredResponse:
        record = replace(
            turn_record(
                turn, folder.result(), expires_at=self._now() + self._retention, error=failure
            ),
            workspace=workspace,
        )
        if turn.settings.store:
            await self._store.save_response(record)
        elif turn.conversation_id and continues_conversation(record):
            items = (*record.input_items, *record.output_items)
            if not await self._store.add_conversation_items(workspace, turn.conversation_id, items):
                raise conversation_missing(turn.conversation_id)
        return record
