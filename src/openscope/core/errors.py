"""Domain errors. They carry a kind and a message, never an HTTP status: each protocol maps
kinds to its own status codes and error bodies."""

from __future__ import annotations

from enum import StrEnum


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
    kind = ErrorKind.RATE_LIMITED

    def __init__(self, message: str, *, retry_after: float | None = None, code: str | None = None):
        super().__init__(message, code=code)
        self.retry_after = retry_after


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
