"""A Responses-API turn in core terms, and how a turn's output becomes stored items."""

from __future__ import annotations

from dataclasses import dataclass

from openscope.core.events import FinishReason, PartKind
from openscope.core.fold import Choice, GenerateResult
from openscope.core.ids import output_item_id
from openscope.core.messages import (
    BuiltinCallPart,
    BuiltinResultPart,
    Message,
    ReasoningPart,
    Role,
    TextPart,
    ToolCallPart,
)
from openscope.core.request import GenerateRequest
from openscope.core.state import (
    Item,
    ResponseError,
    ResponseStatus,
    StoredResponse,
    TurnSettings,
)

ITEM_PREFIXES = {
    PartKind.TEXT: "msg",
    PartKind.REASONING: "rs",
    PartKind.TOOL_CALL: "fc",
    PartKind.BUILTIN_CALL: "msg",  # Model Studio names built-in call items msg_ too
}


@dataclass(frozen=True, slots=True)
class Turn:
    """One turn: new input, where its history comes from, and how to keep it.

    `request.messages` holds only the new input (with no instructions): the engine puts
    the instructions first and the history from `previous_response_id` or `conversation_id`
    in between."""

    response_id: str
    created_at: int
    request: GenerateRequest
    input_items: tuple[Item, ...]
    settings: TurnSettings
    previous_response_id: str | None = None
    conversation_id: str | None = None


def output_item_id_for(kind: PartKind, response_id: str, part_index: int) -> str:
    return output_item_id(ITEM_PREFIXES[kind], response_id, part_index)


def output_items(choice: Choice, response_id: str, created_at: int) -> tuple[Item, ...]:
    """Each part of the answer is one output item, in order; a built-in tool's result
    joins its call's item (one `<tool>_call` item holds both)."""
    items: list[Item] = []
    calls: dict[str, int] = {}  # built-in call id -> its item's position in `items`
    for index, part in enumerate(choice.message.parts):
        if isinstance(part, BuiltinResultPart) and part.call_id in calls:
            at = calls[part.call_id]
            call_item = items[at]
            message = Message(Role.ASSISTANT, (*call_item.message.parts, part))
            items[at] = Item(call_item.id, message, created_at=created_at)
            continue
        if isinstance(part, TextPart):
            kind = PartKind.TEXT
        elif isinstance(part, ReasoningPart):
            kind = PartKind.REASONING
        elif isinstance(part, ToolCallPart):
            kind = PartKind.TOOL_CALL
        elif isinstance(part, BuiltinCallPart):
            kind = PartKind.BUILTIN_CALL
            calls[part.id] = len(items)
        else:
            continue
        items.append(
            Item(
                id=output_item_id_for(kind, response_id, index),
                message=Message(Role.ASSISTANT, (part,)),
                created_at=created_at,
            )
        )
    return tuple(items)


def continues_conversation(record: StoredResponse) -> bool:
    """Whether a turn's items join its conversation: a completed or incomplete turn's do,
    a failed one's do not (the client will retry it, and must not find half of it there)."""
    return record.status is not ResponseStatus.FAILED


def turn_record(
    turn: Turn,
    result: GenerateResult,
    *,
    expires_at: int = 0,
    error: ResponseError | None = None,
) -> StoredResponse:
    """What a finished turn leaves: the same record whether it is stored, streamed or sent."""
    choice = result.choices[0] if result.choices else None
    outputs = output_items(choice, turn.response_id, turn.created_at) if choice else ()
    status, reason = ResponseStatus.COMPLETED, None
    if error is not None:
        status = ResponseStatus.FAILED
    elif choice is not None and choice.finish_reason is FinishReason.LENGTH:
        status, reason = ResponseStatus.INCOMPLETE, "max_output_tokens"
    return StoredResponse(
        id=turn.response_id,
        created_at=turn.created_at,
        expires_at=expires_at,
        model=turn.request.model,
        status=status,
        settings=turn.settings,
        input_items=turn.input_items,
        output_items=outputs,
        usage=result.usage,
        previous_response_id=turn.previous_response_id,
        conversation_id=turn.conversation_id,
        error=error,
        incomplete_reason=reason,
    )
