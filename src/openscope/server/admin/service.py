"""What the admin API does, in its JSON shapes: keys and workspaces like OpenAI's admin
API (objects with `id`, `redacted_value`, list pages with `has_more`), limits like Model
Studio's quota API (`model_limit` with `request_limit` per 60 s and `usage_limit` of
`total_tokens`), usage like OpenAI's usage API (time buckets of grouped results)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from openscope.core import accounts
from openscope.core.accounts import ApiKey, LimitTable, Scope, Workspace
from openscope.core.billing import BucketWidth, GroupField, UsagePage, UsageTotals
from openscope.core.bounds import Count, PerSecond
from openscope.core.errors import InvalidParameter, NotFound
from openscope.core.principal import DEFAULT_WORKSPACE
from openscope.core.quota import RateLimits
from openscope.server.admin.fields import EpochSeconds, Text, epoch_cursor
from openscope.server.keys import KeyDirectory, scopes_refused
from openscope.settings import LimitSettings
from openscope.store import Store

# -- request bodies -----------------------------------------------------------------------


# Every string and number below is a type of fields.py: no NUL, finite and bounded.


class WorkspaceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Text = Field(pattern=accounts.WORKSPACE_ID.pattern)
    name: Text | None = Field(default=None, max_length=200)
    models: list[Text] | None = Field(default=None, max_length=1000)


class WorkspaceUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # absent leaves the name as it is; a name, when given, is not empty
    name: Text = Field(default="", min_length=1, max_length=200)
    # [] is "no model"; null is "every model"; absent leaves the list as it is
    models: list[Text] | None = Field(default=None, max_length=1000)


class KeyLimits(LimitSettings):
    """The settings' [platform.limits] fields, with their bounds (core.bounds): a body
    is held to what a settings file is."""


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Text = Field(min_length=1, max_length=200)
    workspace_id: Text = DEFAULT_WORKSPACE
    models: list[Text] | None = Field(default=None, max_length=1000)
    # the same fields as the settings' [platform.limits] tables
    limits: dict[Text, KeyLimits] = Field(default_factory=dict, max_length=1000)
    # `admin` only in the default workspace: an admin key manages every workspace
    scopes: list[Scope] = Field(default_factory=lambda: sorted(accounts.DEFAULT_SCOPES))
    expires_at: EpochSeconds | None = None


class ModelLimit(BaseModel):
    """One entry of Model Studio's `POST /api/v1/models/limits`: OVERLAY merges the fields
    given into the model's limits, DELETE removes them (and takes no values)."""

    model_config = ConfigDict(extra="forbid")

    model: Text = Field(min_length=1)
    operation_type: Literal["OVERLAY", "DELETE"] = "OVERLAY"
    request_limit: Count | None = None  # per minute
    usage_limit: Count | None = None  # total tokens per minute
    request_per_second_limit: PerSecond | None = None
    usage_per_second_limit: PerSecond | None = None
    concurrency_limit: Count | None = None
    daily_usage_limit: Count | None = None  # total tokens per day

    def limits(self) -> RateLimits:
        return RateLimits(
            rpm=self.request_limit,
            tpm=self.usage_limit,
            rps=self.request_per_second_limit,
            tps=self.usage_per_second_limit,
            max_concurrent=self.concurrency_limit,
            tpd=self.daily_usage_limit,
        )


class ModelLimitsUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    workspace_id: Text | None = None
    key_id: Text | None = None  # the key's own limits instead of its workspace's
    models: list[ModelLimit] = Field(min_length=1, max_length=200)


# -- response shapes ----------------------------------------------------------------------


def workspace_body(workspace: Workspace) -> dict[str, Any]:
    return {
        "object": "workspace",
        "id": workspace.id,
        "name": workspace.name,
        "created_at": workspace.created_at,
        "models": None if workspace.models is None else sorted(workspace.models),
        "limits": {model: rates.as_dict() for model, rates in workspace.limits.items()},
    }


def key_body(key: ApiKey, value: str | None = None) -> dict[str, Any]:
    body = {
        "object": "api_key",
        "id": key.id,
        "name": key.name,
        "workspace_id": key.workspace,
        "redacted_value": key.redacted,
        "created_at": key.created_at,
        "last_used_at": key.last_used_at,
        "expires_at": key.expires_at,
        "revoked_at": key.revoked_at,
        # what the key may really do: a scope its workspace may not hold is not shown
        "scopes": sorted(key.scopes - scopes_refused(key.scopes, key.workspace)),
        "models": None if key.models is None else sorted(key.models),
        "limits": {model: rates.as_dict() for model, rates in key.limits.items()},
    }
    if value is not None:
        body["value"] = value  # shown once, at creation
    return body


def quota_body(model: str, limits: RateLimits, **owner: str) -> dict[str, Any]:
    return {
        "model": model,
        **owner,
        "model_limit": {
            "request_limit": limits.rpm,
            "request_limit_period": 60,
            "usage_limit": limits.tpm,
            "usage_limit_period": 60,
            "usage_limit_field": "total_tokens",
            "request_per_second_limit": limits.rps,
            "usage_per_second_limit": limits.tps,
            "concurrency_limit": limits.max_concurrent,
            "daily_usage_limit": limits.tpd,
        },
    }


def page(data: Sequence[dict[str, Any]], has_more: bool) -> dict[str, Any]:
    return {
        "object": "list",
        "data": list(data),
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": has_more,
    }


def overlay(table: LimitTable, changes: Sequence[ModelLimit]) -> LimitTable:
    merged = dict(table)
    for change in changes:
        if change.operation_type == "DELETE":
            if not change.limits().empty:
                raise InvalidParameter(
                    f"A DELETE of '{change.model}' takes no limit values.", param="models"
                )
            merged.pop(change.model, None)
        else:
            merged[change.model] = change.limits().over(merged.get(change.model, RateLimits()))
    return merged


class AdminService:
    def __init__(
        self, store: Store, directory: KeyDirectory, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._store = store
        self._directory = directory
        self._clock = clock

    def _now(self) -> int:
        return int(self._clock())

    # workspaces

    async def create_workspace(self, body: WorkspaceCreate) -> dict[str, Any]:
        workspace = Workspace(
            id=body.id,
            name=body.name or body.id,
            created_at=self._now(),
            models=None if body.models is None else frozenset(body.models),
        )
        await self._store.create_workspace(workspace)
        return workspace_body(workspace)

    async def list_workspaces(self) -> dict[str, Any]:
        return page([workspace_body(w) for w in await self._store.list_workspaces()], False)

    async def get_workspace(self, workspace_id: str) -> dict[str, Any]:
        workspace = await self._store.get_workspace(workspace_id)
        if workspace is None:
            raise workspace_missing(workspace_id)
        return workspace_body(workspace)

    async def update_workspace(self, workspace_id: str, body: WorkspaceUpdate) -> dict[str, Any]:
        given = body.model_fields_set
        if "models" in given:
            refuse_default(workspace_id)

        def change(workspace: Workspace) -> Workspace:
            return replace(
                workspace,
                name=body.name if "name" in given else workspace.name,
                models=(
                    (None if body.models is None else frozenset(body.models))
                    if "models" in given
                    else workspace.models
                ),
            )

        changed = await self._store.change_workspace(workspace_id, change)
        if changed is None:
            raise workspace_missing(workspace_id)
        self._directory.forget()
        return workspace_body(changed)

    # keys

    async def create_key(self, body: KeyCreate) -> dict[str, Any]:
        if scopes_refused(body.scopes, body.workspace_id):
            raise InvalidParameter(
                "Invalid 'scopes': the admin scope manages every workspace, so only a key of "
                "the default workspace may have it.",
                param="scopes",
            )
        value = accounts.new_key()
        key = ApiKey(
            id=accounts.new_key_id(),
            name=body.name,
            workspace=body.workspace_id,
            redacted=accounts.redact(value),
            created_at=self._now(),
            scopes=frozenset(body.scopes),
            models=None if body.models is None else frozenset(body.models),
            limits={model: rates.limits() for model, rates in body.limits.items()},
            expires_at=body.expires_at,
        )
        await self._store.create_key(key, self._directory.digest(value))
        return key_body(key, value)

    async def list_keys(
        self, *, workspace_id: str | None, after: str | None, limit: int
    ) -> dict[str, Any]:
        keys = await self._store.list_keys(workspace=workspace_id, after=after, limit=limit + 1)
        return page([key_body(k) for k in keys[:limit]], len(keys) > limit)

    async def get_key(self, key_id: str) -> dict[str, Any]:
        key = await self._store.get_key(key_id)
        if key is None:
            raise key_missing(key_id)
        return key_body(key)

    async def revoke_key(self, key_id: str) -> dict[str, Any]:
        if not await self._store.revoke_key(key_id, now=self._now()):
            raise key_missing(key_id)
        self._directory.forget()  # this replica at once; the others within their cache TTL
        return {"object": "api_key.deleted", "id": key_id, "deleted": True}

    # usage

    async def usage(
        self,
        *,
        start: int,
        end: int | None,
        width: BucketWidth,
        group_by: Sequence[str],
        workspaces: Sequence[str] | None,
        key_ids: Sequence[str] | None,
        models: Sequence[str] | None,
        limit: int | None,
        page: str | None,
    ) -> dict[str, Any]:
        if limit is not None and not 1 <= limit <= MAX_BUCKETS[width]:
            raise InvalidParameter(
                f"Invalid 'limit': at most {MAX_BUCKETS[width]} buckets of {width}.",
                param="limit",
            )
        if page is not None:
            start = epoch_cursor(page, "page")
        found = await self._store.usage_buckets(
            start=start,
            end=end,
            width=width,
            group_by=group_fields(group_by),
            workspaces=workspaces or None,
            key_ids=key_ids or None,
            models=models or None,
            limit=limit,
        )
        return usage_body(found)

    # limits

    async def quotas(
        self,
        *,
        workspace_id: str | None,
        model: str | None,
        name: str | None,
        page_no: int,
        page_size: int,
    ) -> dict[str, Any]:
        """Model Studio's list of quotas: `model` names a model exactly, `name` is a part
        of one (fuzzy, as Model Studio has it: any case); pages count from 1."""
        part = None if name is None else name.casefold()
        quotas = []
        for workspace in await self._store.list_workspaces():
            if workspace_id is not None and workspace.id != workspace_id:
                continue
            for found, limits in sorted(workspace.limits.items()):
                if model is not None and found != model:
                    continue
                if part is not None and part not in found.casefold():
                    continue
                quotas.append(quota_body(found, limits, workspace_id=workspace.id))
        first = (page_no - 1) * page_size
        return {
            "output": {
                "total": len(quotas),
                "page_no": page_no,
                "page_size": page_size,
                "quotas": quotas[first : first + page_size],
            }
        }

    async def set_limits(self, body: ModelLimitsUpdate) -> dict[str, Any]:
        if (body.workspace_id is None) == (body.key_id is None):
            raise InvalidParameter(
                "Give exactly one of workspace_id or key_id.", param="workspace_id"
            )
        if body.key_id is not None:
            key = await self._store.change_key_limits(
                body.key_id, lambda key: overlay(key.limits, body.models)
            )
            if key is None:
                raise key_missing(body.key_id)
            limits, owner = key.limits, {"key_id": key.id}
        else:
            assert body.workspace_id is not None
            refuse_default(body.workspace_id)
            workspace = await self._store.change_workspace(
                body.workspace_id,
                lambda ws: replace(ws, limits=overlay(ws.limits, body.models)),
            )
            if workspace is None:
                raise workspace_missing(body.workspace_id)
            limits, owner = workspace.limits, {"workspace_id": workspace.id}
        self._directory.forget()
        quotas = [quota_body(m, r, **owner) for m, r in sorted(limits.items())]
        return {"output": {"total": len(quotas), "quotas": quotas}}


# OpenAI's usage API's names for the fields a query groups by, and ours.
GROUP_NAMES: dict[str, GroupField] = {
    "project_id": "workspace",
    "workspace_id": "workspace",
    "workspace": "workspace",
    "api_key_id": "key_id",
    "key_id": "key_id",
    "model": "model",
    "api": "api",
    "status": "status",  # ours: "ok", "cancelled" or the error code the client was told
}
MAX_BUCKETS = {"1h": 168, "1d": 31}


def usage_result(totals: UsageTotals) -> dict[str, Any]:
    return {
        "object": "organization.usage.completions.result",
        "input_tokens": totals.input_tokens,
        "output_tokens": totals.output_tokens,
        "input_cached_tokens": totals.cached_tokens,
        "input_cache_creation_tokens": totals.cache_creation_tokens,
        "output_reasoning_tokens": totals.reasoning_tokens,
        "num_model_requests": totals.requests,
        "num_failed_requests": totals.errors,
        "billed_input_tokens": totals.billed_input_tokens,
        "cost": totals.cost,
        "project_id": totals.workspace,
        "workspace_id": totals.workspace,
        "api_key_id": totals.key_id,
        "model": totals.model,
        "api": totals.api,
        "status": totals.status,
    }


def usage_body(usage_page: UsagePage) -> dict[str, Any]:
    return {
        "object": "page",
        "data": [
            {
                "object": "bucket",
                "start_time": bucket.start,
                "end_time": bucket.end,
                "results": [usage_result(r) for r in bucket.results],
            }
            for bucket in usage_page.buckets
        ],
        "has_more": usage_page.has_more,
        "next_page": None if usage_page.next_start is None else str(usage_page.next_start),
    }


def group_fields(names: Sequence[str]) -> list[GroupField]:
    fields: list[GroupField] = []
    for name in (part.strip() for joined in names for part in joined.split(",")):
        if not name:
            continue
        if name not in GROUP_NAMES:
            choices = ", ".join(sorted(GROUP_NAMES))
            raise InvalidParameter(
                f"Invalid 'group_by': {name!r} is not one of {choices}.", param="group_by"
            )
        if GROUP_NAMES[name] not in fields:
            fields.append(GROUP_NAMES[name])
    return fields


def refuse_default(workspace_id: str) -> None:
    """Model Studio's rule: the default workspace (the configured keys' too) has the
    account-level limits, `[platform.limits]`, and every model."""
    if workspace_id == DEFAULT_WORKSPACE:
        raise InvalidParameter(
            "The default workspace uses the account-level limits and models and cannot be "
            "modified; set [platform.limits], or create a workspace.",
            param="workspace_id",
        )


def workspace_missing(workspace_id: str) -> NotFound:
    return NotFound(f"Workspace '{workspace_id}' not found.", param="workspace_id")


def key_missing(key_id: str) -> NotFound:
    return NotFound(f"API key '{key_id}' not found.", param="key_id")
