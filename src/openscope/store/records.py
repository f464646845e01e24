"""Rows to and from core types. Every JSON column holds a core type through
`openscope.core.codec`, never wire JSON."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import RowMapping

from openscope.core.codec import (
    item_to_dict,
    settings_from_dict,
    settings_to_dict,
    usage_from_dict,
    usage_to_dict,
)
from openscope.core.state import (
    Conversation,
    Item,
    ResponseError,
    ResponseStatus,
    StoredResponse,
)
from openscope.store.tables import INPUT, OUTPUT

Row = RowMapping


def error_to_dict(error: ResponseError | None) -> dict[str, str] | None:
    return {"code": error.code, "message": error.message} if error else None


def error_from_dict(data: Mapping[str, Any] | None) -> ResponseError | None:
    return ResponseError(str(data["code"]), str(data["message"])) if data else None


def response_row(record: StoredResponse) -> dict[str, Any]:
    return {
        "id": record.id,
        "created_at": record.created_at,
        "expires_at": record.expires_at,
        "model": record.model,
        "status": str(record.status),
        "settings": settings_to_dict(record.settings),
        "usage": usage_to_dict(record.usage),
        "previous_response_id": record.previous_response_id,
        "conversation_id": record.conversation_id,
        "error": error_to_dict(record.error),
        "incomplete_reason": record.incomplete_reason,
        "workspace": record.workspace,
    }


def response_item_rows(record: StoredResponse) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for kind, items in ((INPUT, record.input_items), (OUTPUT, record.output_items)):
        rows.extend(
            {
                "response_id": record.id,
                "kind": kind,
                "position": position,
                "item_id": item.id,
                "item": item_to_dict(item),
            }
            for position, item in enumerate(items)
        )
    return rows


def response_from_row(
    row: Row, input_items: Iterable[Item], output_items: Iterable[Item]
) -> StoredResponse:
    return StoredResponse(
        id=row["id"],
        created_at=int(row["created_at"]),
        expires_at=int(row["expires_at"]),
        model=row["model"],
        status=ResponseStatus(row["status"]),
        settings=settings_from_dict(row["settings"]),
        input_items=tuple(input_items),
        output_items=tuple(output_items),
        usage=usage_from_dict(row["usage"]),
        previous_response_id=row["previous_response_id"],
        conversation_id=row["conversation_id"],
        error=error_from_dict(row["error"]),
        incomplete_reason=row["incomplete_reason"],
        workspace=row["workspace"],
    )


def conversation_row(conversation: Conversation) -> dict[str, Any]:
    return {
        "id": conversation.id,
        "created_at": conversation.created_at,
        "metadata": dict(conversation.metadata),
        "workspace": conversation.workspace,
    }


def conversation_from_row(row: Row) -> Conversation:
    return Conversation(
        id=row["id"],
        created_at=int(row["created_at"]),
        metadata={str(k): str(v) for k, v in (row["metadata"] or {}).items()},
        workspace=row["workspace"],
    )


def conversation_item_rows(conversation_id: str, items: Iterable[Item]) -> list[dict[str, Any]]:
    return [
        {
            "conversation_id": conversation_id,
            "item_id": item.id,
            "created_at": item.created_at,
            "item": item_to_dict(item),
        }
        for item in items
    ]
