"""The admin API's answers, as pydantic models: each route names one as its response
model, so the OpenAPI document (`/admin/v1/openapi.json`) shows what it returns. The
service builds plain dicts (service.py); a dict that strays from its model (a key too
many, one missing) fails the route's response validation, a 500 in the tests, instead of
a document that quietly lies. Fields without a default are always present (null where
the type allows it); `RateLimitsAnswer`'s are present only when set (routes answer with
`response_model_exclude_unset`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RateLimitsAnswer(Answer):
    """One model's limits (or `*`'s); a limit that is not set is absent."""

    rpm: int | None = None
    tpm: int | None = None
    rps: float | None = None
    tps: float | None = None
    max_concurrent: int | None = None
    tpd: int | None = None


class WorkspaceAnswer(Answer):
    object: Literal["workspace"]
    id: str
    name: str
    created_at: int
    models: list[str] | None  # null: every model
    limits: dict[str, RateLimitsAnswer]


class ApiKeyAnswer(Answer):
    object: Literal["api_key"]
    id: str
    name: str
    workspace_id: str
    redacted_value: str
    created_at: int
    last_used_at: int | None
    expires_at: int | None
    revoked_at: int | None
    scopes: list[str]
    models: list[str] | None  # null: its workspace's
    limits: dict[str, RateLimitsAnswer]


class CreatedApiKeyAnswer(ApiKeyAnswer):
    value: str  # the key itself, shown only in this answer


class ListAnswer(Answer):
    object: Literal["list"]
    first_id: str | None
    last_id: str | None
    has_more: bool


class WorkspaceList(ListAnswer):
    data: list[WorkspaceAnswer]


class ApiKeyList(ListAnswer):
    data: list[ApiKeyAnswer]


class ApiKeyDeleted(Answer):
    object: Literal["api_key.deleted"]
    id: str
    deleted: bool


class ModelLimitAnswer(Answer):
    """Model Studio's `model_limit`: periods in seconds (60: per minute)."""

    request_limit: int | None
    request_limit_period: int
    usage_limit: int | None
    usage_limit_period: int
    usage_limit_field: Literal["total_tokens"]
    request_per_second_limit: float | None
    usage_per_second_limit: float | None
    concurrency_limit: int | None
    daily_usage_limit: int | None


class WorkspaceQuota(Answer):
    model: str
    workspace_id: str
    model_limit: ModelLimitAnswer


class KeyQuota(Answer):
    model: str
    key_id: str
    model_limit: ModelLimitAnswer


class LimitsOutput(Answer):
    total: int
    quotas: list[WorkspaceQuota | KeyQuota]


class LimitsAnswer(Answer):
    """What `POST /models/limits` answers: the owner's limits after the change."""

    output: LimitsOutput


class QuotaPage(Answer):
    total: int  # quotas that match the query, on every page
    page_no: int
    page_size: int
    quotas: list[WorkspaceQuota]


class QuotasAnswer(Answer):
    """Model Studio's `GET /api/v1/quotas` answer."""

    request_id: str
    output: QuotaPage


class UsageResult(Answer):
    """OpenAI's `organization.usage.completions.result`, plus openscope's `api` and
    `status` groups; a field the query did not group by is null. Grouped by status,
    `num_failed_requests` is all of a result's requests or none."""

    object: Literal["organization.usage.completions.result"]
    input_tokens: int
    output_tokens: int
    input_cached_tokens: int
    input_cache_creation_tokens: int
    output_reasoning_tokens: int
    num_model_requests: int
    num_failed_requests: int
    billed_input_tokens: float
    cost: float
    project_id: str | None
    workspace_id: str | None
    api_key_id: str | None
    model: str | None
    api: str | None
    status: str | None = Field(
        description='"ok", "cancelled" (the client hung up), the error code the client was '
        'told (such as "limit_requests" for a rate limit\'s 429), or "failed_code_not_kept" '
        "(failed before the ledger kept codes per hour)"
    )


class UsageBucket(Answer):
    object: Literal["bucket"]
    start_time: int
    end_time: int
    results: list[UsageResult]


class UsagePageAnswer(Answer):
    object: Literal["page"]
    data: list[UsageBucket]
    has_more: bool
    next_page: str | None
