"""Queries on conversations and their items. Each function runs inside the caller's
transaction; the `Store` decides where transactions begin and end."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from openscope.core.codec import item_from_dict
from openscope.core.errors import InvalidParameter
from openscope.core.state import Conversation, Item, Order, Page
from openscope.store.records import conversation_from_row, conversation_item_rows, conversation_row
from openscope.store.tables import conversation_items, conversations

ci = conversation_items


def _owned(conversation_id: str, workspace: str) -> ColumnElement[bool]:
    c = conversations.c
    return (c.id == conversation_id) & (c.workspace == workspace)


async def lock_conversation(conn: AsyncConnection, conversation_id: str, workspace: str) -> bool:
    """Whether the conversation exists in `workspace`; on PostgreSQL also lock its row until
    the end of the transaction, so appends to one conversation are serialized and stay
    contiguous."""
    result = await conn.execute(
        select(conversations.c.id)
        .where(_owned(conversation_id, workspace))
        .with_for_update(key_share=True)
    )
    return result.first() is not None


async def insert_conversation(
    conn: AsyncConnection, conversation: Conversation, items: Sequence[Item]
) -> None:
    await conn.execute(insert(conversations), [conversation_row(conversation)])
    await append_items(conn, conversation.id, items)


async def append_items(conn: AsyncConnection, conversation_id: str, items: Sequence[Item]) -> None:
    """Append `items` in order; an item id already in the conversation is refused."""
    if not items:
        return
    ids = [item.id for item in items]
    duplicate = next((i for i, count in Counter(ids).items() if count > 1), None)
    if duplicate is None:
        result = await conn.execute(
            select(ci.c.item_id)
            .where(ci.c.conversation_id == conversation_id, ci.c.item_id.in_(ids))
            .limit(1)
        )
        duplicate = result.scalar()
    if duplicate is not None:
        raise InvalidParameter(
            f"Item with id '{duplicate}' already exists in conversation '{conversation_id}'."
        )
    await conn.execute(insert(ci), conversation_item_rows(conversation_id, items))


async def get_conversation(
    conn: AsyncConnection, conversation_id: str, workspace: str
) -> Conversation | None:
    result = await conn.execute(select(conversations).where(_owned(conversation_id, workspace)))
    row = result.mappings().first()
    return conversation_from_row(row) if row is not None else None


async def update_metadata(
    conn: AsyncConnection, conversation_id: str, workspace: str, metadata: dict[str, str]
) -> Conversation | None:
    await conn.execute(
        update(conversations)
        .where(_owned(conversation_id, workspace))
        .values({conversations.c["metadata"]: dict(metadata)})
    )
    return await get_conversation(conn, conversation_id, workspace)


async def delete_conversation(conn: AsyncConnection, conversation_id: str, workspace: str) -> bool:
    result = await conn.execute(delete(conversations).where(_owned(conversation_id, workspace)))
    return result.rowcount > 0


async def all_items(conn: AsyncConnection, conversation_id: str) -> tuple[Item, ...]:
    result = await conn.execute(
        select(ci.c.item).where(ci.c.conversation_id == conversation_id).order_by(ci.c.seq)
    )
    return tuple(item_from_dict(d) for d in result.scalars())


async def list_items(
    conn: AsyncConnection, conversation_id: str, *, limit: int, order: Order, after: str | None
) -> Page:
    if limit < 0:
        raise ValueError("limit must not be negative")
    where: list[ColumnElement[bool]] = [ci.c.conversation_id == conversation_id]
    if after is not None:
        # An unknown cursor compares against NULL and so matches nothing: an empty page.
        cursor = ci.alias("cursor")
        seq = (
            select(cursor.c.seq)
            .where(cursor.c.conversation_id == conversation_id, cursor.c.item_id == after)
            .scalar_subquery()
        )
        where.append(ci.c.seq > seq if order == Order.ASC else ci.c.seq < seq)
    key = ci.c.seq.asc() if order == Order.ASC else ci.c.seq.desc()
    result = await conn.execute(select(ci.c.item).where(*where).order_by(key).limit(limit + 1))
    data: Sequence[Any] = result.scalars().all()
    return Page(tuple(item_from_dict(d) for d in data[:limit]), has_more=len(data) > limit)


async def get_item(conn: AsyncConnection, conversation_id: str, item_id: str) -> Item | None:
    result = await conn.execute(
        select(ci.c.item).where(ci.c.conversation_id == conversation_id, ci.c.item_id == item_id)
    )
    data = result.scalar()
    return item_from_dict(data) if data is not None else None


async def delete_item(conn: AsyncConnection, conversation_id: str, item_id: str) -> bool:
    result = await conn.execute(
        delete(ci).where(ci.c.conversation_id == conversation_id, ci.c.item_id == item_id)
    )
    return result.rowcount > 0
