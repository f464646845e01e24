"""Domain errors. They carry a kind and a message, never an HTTP status: each protocol maps
kinds to its own status codes and error bodies."""

from __future__ import annotations

from enum import StrEnum

from openscope.core.quota import Admission, Allowance, LimitKind


class ErrorKind(StrEnum):
    INVALID_PARAMETER = "invalid_parameter"
    AUTHENTICATION = "authentication"
    PERMISSION = "permission"
    NOT_FOUND = "not_found"
    MODEL_NOT_FOUND = "model_not_found"
    REQUEST_TOO_LARGE = "request_too_large"
    RATE_LIMITED = "rate_limited"
    OVERLOADED = "overloaded"
    INTERNAL = "internal"


class OpenScopeError(Exception):
    kind: ErrorKind = ErrorKind.INTERNAL

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.param = param
        # A protocol-specific code that overrides the default for the kind (for example
        # Model Studio's "invalid_api_key" versus "access_denied").
        self.code = code

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, param={self.param!r})"


class InvalidParameter(OpenScopeError):
    kind = ErrorKind.INVALID_PARAMETER


class AuthenticationFailed(OpenScopeError):
    kind = ErrorKind.AUTHENTICATION


class PermissionDenied(OpenScopeError):
    kind = ErrorKind.PERMISSION


class NotFound(OpenScopeError):
    kind = ErrorKind.NOT_FOUND


class ModelNotFound(OpenScopeError):
    kind = ErrorKind.MODEL_NOT_FOUND


class RequestTooLarge(OpenScopeError):
    kind = ErrorKind.REQUEST_TOO_LARGE


class RateLimited(OpenScopeError):
    """A limit refused the call. `requests`/`tokens` are what the tightest scope has left
    (for the rate-limit headers); `should_retry` false says the SDKs should not retry at
    all (a budget, not a rate, ran out)."""

    kind = ErrorKind.RATE_LIMITED

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        code: str | None = None,
        requests: Allowance | None = None,
        tokens: Allowance | None = None,
        should_retry: bool = True,
    ):
        super().__init__(message, code=code)
        self.retry_after = retry_after
        self.requests = requests
        self.tokens = tokens
        self.should_retry = should_retry


# Model Studio's 429s (compatible mode) by what ran out: RPM/RPS, TPM/TPS (a throttle that
# clears within the minute, whatever its words say), a day's token budget (said the same
# way; only `x-should-retry: false` tells it apart), and a sudden surge.
QUOTA_MESSAGE = "You exceeded your current quota, please check your plan and billing details."
RATE_LIMIT_ANSWERS: dict[LimitKind, tuple[str, str]] = {
    LimitKind.REQUESTS: ("limit_requests", "Requests rate limit exceeded, please try again later."),
    LimitKind.TOKENS: ("insufficient_quota", QUOTA_MESSAGE),
    LimitKind.BUDGET: ("insufficient_quota", QUOTA_MESSAGE),
    LimitKind.CONCURRENCY: (
        "limit_burst_rate",
        "Request rate increased too quickly. To ensure system stability, please adjust your "
        "client logic to scale requests more smoothly over time.",
    ),
}


def rate_limited(admission: Admission) -> RateLimited:
    """The refusal `admission` stands for, in Model Studio's words."""
    assert admission.refused is not None
    code, message = RATE_LIMIT_ANSWERS[admission.refused]
    return RateLimited(
        message,
        retry_after=admission.retry_after,
        code=code,
        requests=admission.requests,
        tokens=admission.tokens,
        should_retry=admission.refused is not LimitKind.BUDGET,
    )


class Overloaded(OpenScopeError):
    kind = ErrorKind.OVERLOADED

    def __init__(self, message: str, *, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class InternalError(OpenScopeError):
    kind = ErrorKind.INTERNAL


INTERNAL_ERROR_MESSAGE = "An internal error has occured, please try again later."
TIMEOUT_MESSAGE = "Request timed out, please try again later."
# Model Studio's words for a model that cannot take the request now (503 model_unavailable).
UNAVAILABLE_MESSAGE = "Model is unavailable, please try again later."
# Model Studio's words for a key whose workspace may not call the model (403 access_denied).
MODEL_ACCESS_DENIED = "Model access denied."


def request_timed_out() -> InternalError:
    """Model Studio's answer to a request that ran past its time."""
    return InternalError(TIMEOUT_MESSAGE, code="RequestTimeOut")


# Model Studio's error codes (compatible mode), shared by the APIs it serves there.
MODEL_STUDIO_CODES: dict[ErrorKind, str] = {
    ErrorKind.INVALID_PARAMETER: "invalid_parameter_error",
    ErrorKind.AUTHENTICATION: "invalid_api_key",
    ErrorKind.PERMISSION: "access_denied",
    ErrorKind.NOT_FOUND: "not_found",
    ErrorKind.MODEL_NOT_FOUND: "model_not_found",
    ErrorKind.REQUEST_TOO_LARGE: "request_too_large",
    ErrorKind.RATE_LIMITED: "limit_requests",
    ErrorKind.OVERLOADED: "model_unavailable",
    ErrorKind.INTERNAL: "internal_error",
}


def error_code(error: OpenScopeError) -> str:
    return error.code or MODEL_STUDIO_CODES[error.kind]
