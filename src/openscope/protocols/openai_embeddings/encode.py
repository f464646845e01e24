"""Embeddings and errors -> the wire JSON, shaped as Model Studio's compatible mode answers
(an OpenAI `CreateEmbeddingResponse` with the request id as `id`)."""

from __future__ import annotations

import base64
import struct
from collections.abc import Sequence
from typing import Any

from openscope.core.embedding_service import REFUSAL_CODE
from openscope.core.errors import ErrorKind, OpenScopeError, error_code
from openscope.core.knowledge import Embeddings
from openscope.protocols.openai_embeddings.decode import EncodingFormat
from openscope.protocols.statuses import HTTP_STATUS

# kind -> error type, as Model Studio's compatible mode answers (a 429's type is its code).
ERROR_TYPES: dict[ErrorKind, str] = {
    ErrorKind.INVALID_PARAMETER: "invalid_request_error",
    ErrorKind.AUTHENTICATION: "invalid_request_error",
    ErrorKind.PERMISSION: "invalid_request_error",
    ErrorKind.NOT_FOUND: "invalid_request_error",
    ErrorKind.MODEL_NOT_FOUND: "invalid_request_error",
    ErrorKind.REQUEST_TOO_LARGE: "invalid_request_error",
    ErrorKind.OVERLOADED: "service_unavailable_error",
    ErrorKind.INTERNAL: "internal_error",
}
# How Model Studio's embedding models word a refusal of theirs (batch size, input length,
# dimensions): type and code "InvalidParameter", the message behind this prefix.
REFUSAL_PREFIX = "<400> InternalError.Algo.InvalidParameter: "


def error_status(error: OpenScopeError) -> int:
    return HTTP_STATUS[error.kind]


def error_body(error: OpenScopeError, request_id: str) -> dict[str, Any]:
    code = error_code(error)
    if error.code == REFUSAL_CODE:
        kind, message = REFUSAL_CODE, REFUSAL_PREFIX + error.message
    elif error.kind is ErrorKind.RATE_LIMITED:
        kind, message = code, error.message
    else:
        kind, message = ERROR_TYPES[error.kind], error.message
    return {
        "error": {"message": message, "type": kind, "param": error.param, "code": code},
        "id": request_id,
        "request_id": request_id,
    }


def vector_base64(vector: Sequence[float]) -> str:
    """OpenAI's base64 encoding: the vector as little-endian float32, base64."""
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")


def embeddings_body(
    result: Embeddings, model: str, encoding: EncodingFormat, request_id: str
) -> dict[str, Any]:
    data = [
        {
            "object": "embedding",
            "embedding": vector_base64(vector) if encoding == "base64" else list(vector),
            "index": index,
        }
        for index, vector in enumerate(result.vectors)
    ]
    return {
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": result.tokens, "total_tokens": result.tokens},
        "id": request_id,
    }
