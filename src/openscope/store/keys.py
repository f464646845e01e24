"""Queries on workspaces and API keys. Each function runs inside the caller's transaction;
the `Store` decides where transactions begin and end."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from openscope.core.accounts import ApiKey, LimitTable, Workspace
from openscope.core.quota import RateLimits
from openscope.store.tables import api_keys, workspaces


def limits_to_json(limits: Mapping[str, RateLimits]) -> dict[str, dict[str, int | float]]:
    return {model: rates.as_dict() for model, rates in limits.items() if not rates.empty}


def limits_from_json(data: Mapping[str, Any] | None) -> LimitTable:
    return {model: RateLimits.from_dict(rates) for model, rates in (data or {}).items()}


def _models_to_json(models: frozenset[str] | None) -> list[str] | None:
    return None if models is None else sorted(models)


def _models_from_json(data: Sequence[str] | None) -> frozenset[str] | None:
    return None if data is None else frozenset(data)


def workspace_from_row(row: Any) -> Workspace:
    return Workspace(
        id=row.id,
        name=row.name,
        created_at=row.created_at,
        models=_models_from_json(row.models),
        limits=limits_from_json(row.limits),
    )


def key_from_row(row: Any) -> ApiKey:
    return ApiKey(
        id=row.id,
        name=row.name,
        workspace=row.workspace,
        redacted=row.redacted,
        created_at=row.created_at,
        scopes=frozenset(row.scopes),
        models=_models_from_json(row.models),
        limits=limits_from_json(row.limits),
        last_used_at=row.last_used_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )


async def insert_workspace(conn: AsyncConnection, workspace: Workspace) -> None:
    await conn.execute(
        insert(workspaces),
        [
            {
                "id": workspace.id,
                "name": workspace.name,
                "created_at": workspace.created_at,
                "models": _models_to_json(workspace.models),
                "limits": limits_to_json(workspace.limits),
            }
        ],
    )


async def get_workspace(
    conn: AsyncConnection, workspace_id: str, *, lock: bool = False
) -> Workspace | None:
    query = select(workspaces).where(workspaces.c.id == workspace_id)
    if lock:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    return None if row is None else workspace_from_row(row)


async def list_workspaces(conn: AsyncConnection) -> list[Workspace]:
    rows = await conn.execute(select(workspaces).order_by(workspaces.c.created_at, workspaces.c.id))
    return [workspace_from_row(row) for row in rows]


async def update_workspace(conn: AsyncConnection, workspace: Workspace) -> None:
    await conn.execute(
        update(workspaces)
        .where(workspaces.c.id == workspace.id)
        .values(
            name=workspace.name,
            models=_models_to_json(workspace.models),
            limits=limits_to_json(workspace.limits),
        )
    )


async def insert_key(conn: AsyncConnection, key: ApiKey, key_digest: str) -> None:
    await conn.execute(
        insert(api_keys),
        [
            {
                "id": key.id,
                "digest": key_digest,
                "name": key.name,
                "workspace": key.workspace,
                "redacted": key.redacted,
                "models": _models_to_json(key.models),
                "limits": limits_to_json(key.limits),
                "scopes": sorted(key.scopes),
                "created_at": key.created_at,
                "last_used_at": key.last_used_at,
                "expires_at": key.expires_at,
                "revoked_at": key.revoked_at,
            }
        ],
    )


async def key_by_digest(conn: AsyncConnection, key_digest: str) -> tuple[ApiKey, Workspace] | None:
    """The key with this digest and its workspace."""
    query = (
        select(api_keys, workspaces.c.name.label("ws_name"))
        .join(workspaces, workspaces.c.id == api_keys.c.workspace)
        .add_columns(
            workspaces.c.created_at.label("ws_created_at"),
            workspaces.c.models.label("ws_models"),
            workspaces.c.limits.label("ws_limits"),
        )
        .where(api_keys.c.digest == key_digest)
    )
    row = (await conn.execute(query)).first()
    if row is None:
        return None
    workspace = Workspace(
        id=row.workspace,
        name=row.ws_name,
        created_at=row.ws_created_at,
        models=_models_from_json(row.ws_models),
        limits=limits_from_json(row.ws_limits),
    )
    return key_from_row(row), workspace


async def get_key(conn: AsyncConnection, key_id: str) -> ApiKey | None:
    row = (await conn.execute(select(api_keys).where(api_keys.c.id == key_id))).first()
    return None if row is None else key_from_row(row)


async def list_keys(
    conn: AsyncConnection, *, workspace: str | None, after: str | None, limit: int
) -> list[ApiKey]:
    """Keys by id, `limit` of them after the id `after`."""
    query = select(api_keys).order_by(api_keys.c.id).limit(limit)
    if workspace is not None:
        query = query.where(api_keys.c.workspace == workspace)
    if after is not None:
        query = query.where(api_keys.c.id > after)
    return [key_from_row(row) for row in await conn.execute(query)]


async def revoke_key(conn: AsyncConnection, key_id: str, now: int) -> bool:
    """Revoke the key (kept for the ledger's sake); False if there is no such key."""
    result = await conn.execute(
        update(api_keys)
        .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    if result.rowcount:
        return True
    return await get_key(conn, key_id) is not None


async def mark_used(conn: AsyncConnection, used: Mapping[str, int]) -> None:
    """Set keys' last-used times (batched by the caller: never once per request)."""
    for key_id, when in used.items():
        await conn.execute(
            update(api_keys).where(api_keys.c.id == key_id).values(last_used_at=when)
        )


async def set_key_limits(
    conn: AsyncConnection, key_id: str, limits: Mapping[str, RateLimits]
) -> bool:
    result = await conn.execute(
        update(api_keys).where(api_keys.c.id == key_id).values(limits=limits_to_json(limits))
    )
    return bool(result.rowcount)
