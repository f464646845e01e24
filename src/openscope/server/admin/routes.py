"""The admin API's routes, under `/admin/v1`, answering errors in the OpenAI-compatible
shape. Bodies and answers are pydantic models (answers.py), so the OpenAPI schema
(`/admin/v1/openapi.json`) documents every field of both."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from openscope.core.principal import Principal
from openscope.protocols import openai_chat
from openscope.protocols.http import request_id_of, route_class
from openscope.server.admin.answers import (
    ApiKeyAnswer,
    ApiKeyDeleted,
    ApiKeyList,
    CreatedApiKeyAnswer,
    LimitsAnswer,
    QuotasAnswer,
    UsagePageAnswer,
    WorkspaceAnswer,
    WorkspaceList,
)
from openscope.server.admin.fields import EpochSeconds, QueryInt, refuse_nul_parameters
from openscope.server.admin.service import (
    GROUP_NAMES,
    AdminService,
    KeyCreate,
    ModelLimitsUpdate,
    WorkspaceCreate,
    WorkspaceUpdate,
)

ADMIN_PREFIX = "/admin/v1"
Many = Annotated[list[str] | None, Query()]  # a query parameter that may repeat
# Model Studio's list of quotas pages by `page_no` from 1 and `page_size` (default 20); it
# states no largest page, so ours is OpenAI's largest list page.
MAX_PAGE_SIZE = 100
MAX_PAGE_NO = 10**9


def answers(model: type[BaseModel]) -> dict[str, Any]:
    """A route's response model: documented, and each answer checked against it. Unset
    fields are left out, as the service leaves out a limit that is not set."""
    return {"response_model": model, "response_model_exclude_unset": True}


def admin_router(
    service: AdminService, authenticate: Callable[[Request], Awaitable[Principal]]
) -> APIRouter:
    router = APIRouter(
        prefix=ADMIN_PREFIX,
        route_class=route_class(openai_chat.ERRORS.response),
        # who is asking first; then no path or query parameter may hold a NUL (the bodies'
        # strings are refused theirs by their types)
        dependencies=[Depends(authenticate), Depends(refuse_nul_parameters)],
        tags=["admin"],
    )

    @router.post("/workspaces", summary="Create a workspace", **answers(WorkspaceAnswer))
    async def create_workspace(body: WorkspaceCreate) -> dict[str, Any]:
        return await service.create_workspace(body)

    @router.get("/workspaces", summary="List workspaces", **answers(WorkspaceList))
    async def list_workspaces() -> dict[str, Any]:
        return await service.list_workspaces()

    @router.get(
        "/workspaces/{workspace_id}", summary="Retrieve a workspace", **answers(WorkspaceAnswer)
    )
    async def get_workspace(workspace_id: str) -> dict[str, Any]:
        return await service.get_workspace(workspace_id)

    @router.post(
        "/workspaces/{workspace_id}",
        summary="Rename a workspace or set its models",
        **answers(WorkspaceAnswer),
    )
    async def update_workspace(workspace_id: str, body: WorkspaceUpdate) -> dict[str, Any]:
        return await service.update_workspace(workspace_id, body)

    @router.post(
        "/keys",
        summary="Create an API key (its value is shown only here)",
        **answers(CreatedApiKeyAnswer),
    )
    async def create_key(body: KeyCreate) -> dict[str, Any]:
        return await service.create_key(body)

    @router.get("/keys", summary="List API keys", **answers(ApiKeyList))
    async def list_keys(
        workspace_id: str | None = None,
        after: str | None = None,
        limit: Annotated[QueryInt, Query(ge=1, le=100)] = 20,
    ) -> dict[str, Any]:
        return await service.list_keys(workspace_id=workspace_id, after=after, limit=limit)

    @router.get("/keys/{key_id}", summary="Retrieve an API key", **answers(ApiKeyAnswer))
    async def get_key(key_id: str) -> dict[str, Any]:
        return await service.get_key(key_id)

    @router.delete("/keys/{key_id}", summary="Revoke an API key", **answers(ApiKeyDeleted))
    async def revoke_key(key_id: str) -> dict[str, Any]:
        return await service.revoke_key(key_id)

    @router.get(
        "/quotas",
        summary="Per-model limits of workspaces (Model Studio's shape)",
        **answers(QuotasAnswer),
    )
    async def quotas(
        request: Request,
        workspace_id: str | None = None,
        model: Annotated[str | None, Query(description="a model name, exactly")] = None,
        name: Annotated[str | None, Query(description="a part of a model name")] = None,
        page_no: Annotated[QueryInt, Query(ge=1, le=MAX_PAGE_NO)] = 1,
        page_size: Annotated[QueryInt, Query(ge=1, le=MAX_PAGE_SIZE)] = 20,
    ) -> dict[str, Any]:
        found = await service.quotas(
            workspace_id=workspace_id,
            model=model,
            name=name,
            page_no=page_no,
            page_size=page_size,
        )
        return {"request_id": request_id_of(request), **found}

    @router.post(
        "/models/limits",
        summary="Overlay or delete per-model limits",
        **answers(LimitsAnswer),
    )
    async def set_limits(body: ModelLimitsUpdate) -> dict[str, Any]:
        return await service.set_limits(body)

    @router.get(
        "/usage",
        summary="Usage in time buckets (OpenAI's usage API shape)",
        **answers(UsagePageAnswer),
    )
    @router.get("/usage/completions", include_in_schema=False, **answers(UsagePageAnswer))
    async def usage(
        # Annotated, not `= Query(...)`: FastAPI drops a type's own checks from a default
        start_time: Annotated[
            EpochSeconds, Query(description="seconds since the epoch, inclusive")
        ],
        end_time: Annotated[EpochSeconds | None, Query(description="exclusive")] = None,
        bucket_width: Literal["1h", "1d"] = "1d",
        group_by: Annotated[
            list[str] | None,
            Query(
                description="the fields to sum per value of, repeated or comma-joined: "
                + ", ".join(sorted(GROUP_NAMES))
            ),
        ] = None,
        workspace_ids: Many = None,
        project_ids: Many = None,
        api_key_ids: Many = None,
        models: Many = None,
        limit: QueryInt | None = None,
        page: Annotated[str | None, Query(description="an answer's next_page")] = None,
    ) -> dict[str, Any]:
        return await service.usage(
            start=start_time,
            end=end_time,
            width=bucket_width,
            group_by=group_by or [],
            workspaces=[*(workspace_ids or []), *(project_ids or [])],
            key_ids=api_key_ids,
            models=models,
            limit=limit,
            page=page,
        )

    return router


def admin_schema(*routers: APIRouter) -> dict[str, Any]:
    """The OpenAPI document of the admin routes alone."""
    app = FastAPI()
    for router in routers:
        app.include_router(router)
    return get_openapi(
        title="openscope admin API",
        version="1",
        description="Workspaces, API keys, per-model limits and usage.",
        routes=app.routes,
    )
