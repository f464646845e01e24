"""The store: stored responses and conversations over one SQLAlchemy async engine.

Every method is one transaction, run as `store.transactions` runs them (so a record and its
items come from one snapshot). Deleting really deletes rows."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from sqlalchemy.exc import IntegrityError

from openscope.core.accounts import ApiKey, LimitTable, Workspace
from openscope.core.billing import BucketWidth, GroupField, UsagePage, UsageRecord
from openscope.core.errors import InvalidParameter, NotFound
from openscope.core.state import Conversation, Item, Order, Page, StoredResponse
from openscope.core.turns import continues_conversation
from openscope.store import conversations as conv
from openscope.store import keys, usage
from openscope.store import responses as resp
from openscope.store.transactions import Transactional, finishes_even_if_cancelled


class Store(Transactional):
    async def close(self, *, finish_timeout: float = 10.0) -> None:
        """Wait (at most `finish_timeout` seconds) for the transactions cancelled callers
        left running, then close every connection."""
        await self.wait_for_cancelled(finish_timeout)
        await self._engine.dispose()

    # Responses. Every read, list, chain and delete is scoped by the owner's workspace: one
    # workspace's ids are unknown to another.

    @finishes_even_if_cancelled
    async def save_response(self, record: StoredResponse) -> None:
        """Store a finished response and its items in its workspace. With a conversation,
        append the turn's input then output items to it, unless the turn failed; with a
        previous response, extend the chain's expiry to this record's. All or nothing."""
        async with self._write() as conn:
            conversation_id = record.conversation_id
            if conversation_id is not None and not await conv.lock_conversation(
                conn, conversation_id, record.workspace
            ):
                raise NotFound(f"Conversation with id '{conversation_id}' not found.")
            await resp.insert_response(conn, record)
            if conversation_id is not None and continues_conversation(record):
                items = record.input_items + record.output_items
                await conv.append_items(conn, conversation_id, items)
            if record.previous_response_id is not None:
                await resp.extend_chain(
                    conn, record.previous_response_id, record.workspace, record.expires_at
                )

    @finishes_even_if_cancelled
    async def get_response(
        self, workspace: str, response_id: str, *, now: int
    ) -> StoredResponse | None:
        async with self._read() as conn:
            return await resp.get_response(conn, response_id, workspace, now)

    @finishes_even_if_cancelled
    async def delete_response(self, workspace: str, response_id: str) -> bool:
        async with self._write() as conn:
            return await resp.delete_response(conn, response_id, workspace)

    @finishes_even_if_cancelled
    async def response_chain(
        self, workspace: str, response_id: str, *, now: int
    ) -> list[StoredResponse] | None:
        """The response and its ancestors, oldest first; None if it is missing or expired.
        A missing or expired ancestor ends the chain."""
        async with self._read() as conn:
            return await resp.response_chain(conn, response_id, workspace, now)

    @finishes_even_if_cancelled
    async def list_input_items(
        self,
        workspace: str,
        response_id: str,
        *,
        limit: int,
        order: Order,
        after: str | None,
        now: int,
    ) -> Page | None:
        """A page of the response's input items, or None if the workspace has no such
        (unexpired) response; `after` is an exclusive item-id cursor (an unknown one gives
        an empty page)."""
        async with self._read() as conn:
            if await resp.get_response(conn, response_id, workspace, now) is None:
                return None
            return await resp.list_input_items(
                conn, response_id, limit=limit, order=order, after=after
            )

    @finishes_even_if_cancelled
    async def purge_expired(self, now: int) -> int:
        async with self._write() as conn:
            return await resp.purge_expired(conn, now)

    # Keys and workspaces

    @finishes_even_if_cancelled
    async def create_workspace(self, workspace: Workspace) -> None:
        """Raises InvalidParameter if the id is taken."""
        taken = InvalidParameter(f"Workspace '{workspace.id}' already exists.", param="id")
        async with self._write() as conn:
            if await keys.get_workspace(conn, workspace.id) is not None:
                raise taken
            try:
                await keys.insert_workspace(conn, workspace)
            except IntegrityError:
                # another creator's insert landed between the check and this one (on
                # PostgreSQL; SQLite's writers take turns): the id's unique key refused it
                raise taken from None

    @finishes_even_if_cancelled
    async def get_workspace(self, workspace_id: str) -> Workspace | None:
        async with self._read() as conn:
            return await keys.get_workspace(conn, workspace_id)

    @finishes_even_if_cancelled
    async def list_workspaces(self) -> list[Workspace]:
        async with self._read() as conn:
            return await keys.list_workspaces(conn)

    @finishes_even_if_cancelled
    async def change_workspace(
        self, workspace_id: str, change: Callable[[Workspace], Workspace]
    ) -> Workspace | None:
        """Read the workspace, apply `change` and write the result back, in one transaction
        holding its row; None if there is no such workspace."""
        async with self._write() as conn:
            workspace = await keys.get_workspace(conn, workspace_id, lock=True)
            if workspace is None:
                return None
            changed = change(workspace)
            await keys.update_workspace(conn, changed)
            return changed

    @finishes_even_if_cancelled
    async def create_key(self, key: ApiKey, key_digest: str) -> None:
        async with self._write() as conn:
            if await keys.get_workspace(conn, key.workspace) is None:
                raise NotFound(f"Workspace '{key.workspace}' not found.", param="workspace_id")
            await keys.insert_key(conn, key, key_digest)

    @finishes_even_if_cancelled
    async def key_by_digest(self, key_digest: str) -> tuple[ApiKey, Workspace] | None:
        async with self._read() as conn:
            return await keys.key_by_digest(conn, key_digest)

    @finishes_even_if_cancelled
    async def get_key(self, key_id: str) -> ApiKey | None:
        async with self._read() as conn:
            return await keys.get_key(conn, key_id)

    @finishes_even_if_cancelled
    async def list_keys(
        self, *, workspace: str | None = None, after: str | None = None, limit: int = 20
    ) -> list[ApiKey]:
        async with self._read() as conn:
            return await keys.list_keys(conn, workspace=workspace, after=after, limit=limit)

    @finishes_even_if_cancelled
    async def revoke_key(self, key_id: str, *, now: int) -> bool:
        async with self._write() as conn:
            return await keys.revoke_key(conn, key_id, now)

    @finishes_even_if_cancelled
    async def change_key_limits(
        self, key_id: str, change: Callable[[ApiKey], LimitTable]
    ) -> ApiKey | None:
        """Replace the key's limits with `change(key)`; None if there is no such key."""
        async with self._write() as conn:
            key = await keys.get_key(conn, key_id)
            if key is None:
                return None
            limits = change(key)
            await keys.set_key_limits(conn, key_id, limits)
            return replace(key, limits=limits)

    @finishes_even_if_cancelled
    async def mark_keys_used(self, used: Mapping[str, int]) -> None:
        if used:
            async with self._write() as conn:
                await keys.mark_used(conn, used)

    # Conversations

    @finishes_even_if_cancelled
    async def create_conversation(
        self, conversation: Conversation, items: tuple[Item, ...] = ()
    ) -> None:
        async with self._write() as conn:
            await conv.insert_conversation(conn, conversation, items)

    @finishes_even_if_cancelled
    async def get_conversation(self, workspace: str, conversation_id: str) -> Conversation | None:
        async with self._read() as conn:
            return await conv.get_conversation(conn, conversation_id, workspace)

    @finishes_even_if_cancelled
    async def update_conversation(
        self, workspace: str, conversation_id: str, metadata: dict[str, str]
    ) -> Conversation | None:
        """Replace the conversation's metadata; None if there is no such conversation."""
        async with self._write() as conn:
            return await conv.update_metadata(conn, conversation_id, workspace, metadata)

    @finishes_even_if_cancelled
    async def delete_conversation(self, workspace: str, conversation_id: str) -> bool:
        async with self._write() as conn:
            return await conv.delete_conversation(conn, conversation_id, workspace)

    @finishes_even_if_cancelled
    async def add_conversation_items(
        self, workspace: str, conversation_id: str, items: tuple[Item, ...]
    ) -> bool:
        """Append items; False if there is no such conversation. An item id already in the
        conversation raises InvalidParameter and nothing is added."""
        async with self._write() as conn:
            if not await conv.lock_conversation(conn, conversation_id, workspace):
                return False
            await conv.append_items(conn, conversation_id, items)
            return True

    @finishes_even_if_cancelled
    async def conversation_items(
        self, workspace: str, conversation_id: str
    ) -> tuple[Item, ...] | None:
        async with self._read() as conn:
            if await conv.get_conversation(conn, conversation_id, workspace) is None:
                return None
            return await conv.all_items(conn, conversation_id)

    @finishes_even_if_cancelled
    async def list_conversation_items(
        self,
        workspace: str,
        conversation_id: str,
        *,
        limit: int,
        order: Order,
        after: str | None,
    ) -> Page | None:
        async with self._read() as conn:
            if await conv.get_conversation(conn, conversation_id, workspace) is None:
                return None
            return await conv.list_items(
                conn, conversation_id, limit=limit, order=order, after=after
            )

    @finishes_even_if_cancelled
    async def get_conversation_item(
        self, workspace: str, conversation_id: str, item_id: str
    ) -> Item | None:
        """The item, or None if it or its conversation is not in the workspace."""
        async with self._read() as conn:
            if await conv.get_conversation(conn, conversation_id, workspace) is None:
                return None
            return await conv.get_item(conn, conversation_id, item_id)

    @finishes_even_if_cancelled
    async def delete_conversation_item(
        self, workspace: str, conversation_id: str, item_id: str
    ) -> bool:
        async with self._write() as conn:
            if not await conv.lock_conversation(conn, conversation_id, workspace):
                return False
            return await conv.delete_item(conn, conversation_id, item_id)

    # Usage: the ledger of finished requests, its hourly rollup and its retention (the
    # rules that keep the rollup exact are in usage.py).

    async def record_usage(self, record: UsageRecord) -> bool:  # (the batch is shielded)
        """Add the request's record; False (and nothing changes) if its request id is in
        the ledger already."""
        return await self.record_usage_batch((record,)) == 1

    @finishes_even_if_cancelled
    async def record_usage_batch(self, records: Sequence[UsageRecord]) -> int:
        """Add the records in one transaction, skipping request ids already in the ledger;
        how many were added."""
        if not records:
            return 0
        async with self._write() as conn:
            await usage.hold_rollup_off(conn)
            return await usage.insert_events(conn, records)

    @finishes_even_if_cancelled
    async def usage_records(self, request_ids: Sequence[str]) -> list[UsageRecord]:
        """The ledger's records of these requests, in the order they were added."""
        async with self._read() as conn:
            return await usage.get_events(conn, request_ids)

    @finishes_even_if_cancelled
    async def roll_up(self, *, max_events: int = 50_000) -> int:
        """Add the events not rolled up yet (at most `max_events`, the oldest first) into
        the hourly rows, in one transaction; how many were rolled up. Safe to run on
        several replicas at once."""
        async with self._write() as conn:
            return await usage.roll_up(conn, max_events=max_events)

    @finishes_even_if_cancelled
    async def purge_usage(self, before_ms: int) -> int:
        """Delete rolled-up events created before `before_ms` (ms since the epoch) and the
        hourly rows of hours that ended by then; how many rows were deleted."""
        async with self._write() as conn:
            return await usage.purge(conn, before_ms)

    @finishes_even_if_cancelled
    async def usage_buckets(
        self,
        *,
        start: int,
        end: int | None = None,
        width: BucketWidth = "1d",
        group_by: Sequence[GroupField] = (),
        workspaces: Sequence[str] | None = None,
        key_ids: Sequence[str] | None = None,
        models: Sequence[str] | None = None,
        limit: int | None = None,
    ) -> UsagePage:
        """Usage in buckets of `width` ("1h" or "1d", on UTC boundaries) from `start`
        (seconds, inclusive, rounded down to a bucket) to `end` (exclusive; None: no end),
        at most `limit` buckets (default 24 hours or 7 days), each summed per group of
        `group_by` and narrowed to the given workspaces, keys and models. Exact up to the
        last recorded request: what is not rolled up yet is read from the events."""
        query = usage.UsageQuery(
            start=start,
            end=end,
            width=width,
            group_by=tuple(group_by),
            workspaces=None if workspaces is None else tuple(workspaces),
            key_ids=None if key_ids is None else tuple(key_ids),
            models=None if models is None else tuple(models),
            limit=limit,
        )
        async with self._read() as conn:
            return await usage.buckets(conn, query)
