"""The OpenAPI 3.1 document of every route the app serves (`/openapi.json`).

FastAPI documents the routes' path and query parameters, and the admin API's bodies and
answers (they are pydantic models in the handlers' signatures). The protocols' bodies it
cannot see (they are read by hand and validated with the wire models in `decode`), so
`operations` states them, and this module puts their schemas, examples, tags, the key
each route needs and each API's error shape into the document."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fastapi.openapi.utils import get_openapi
from starlette.routing import BaseRoute

from openscope import __version__
from openscope.core.errors import AuthenticationFailed, InvalidParameter
from openscope.protocols.anthropic_messages.routes import PREFIXES as ANTHROPIC_PREFIXES
from openscope.protocols.http import ProtocolErrors
from openscope.protocols.openai_chat.routes import PREFIXES as OPENAI_PREFIXES
from openscope.server.admin import ADMIN_PREFIX
from openscope.server.auth import NO_KEY
from openscope.server.openapi.components import Components
from openscope.server.openapi.operations import (
    JSON,
    SERVER,
    Operation,
    admin_examples,
    protocol_operations,
)

# Longest first: `/v1` is a prefix of no other, but `/apps/anthropic/v1` ends like it.
PREFIXES = tuple(sorted({*ANTHROPIC_PREFIXES, *OPENAI_PREFIXES}, key=len, reverse=True))
API_KEY = "ApiKey"
X_API_KEY = "XApiKey"
ADMIN_KEY = "AdminKey"
EXAMPLE_REQUEST_ID = "7a9e4c1e-2b1d-4f57-9d1a-0e6c0f0d1b2a"
DESCRIPTION = """\
openscope serves Model Studio's model APIs: OpenAI-compatible Chat Completions, Responses
and Conversations, Files and Vector Stores, and Embeddings under `/compatible-mode/v1`
(and `/v1`), and Anthropic-compatible Messages under `/apps/anthropic/v1` (and `/v1`).
The operator's admin API is under `/admin/v1`. Every route but `/health` needs an API key,
as `Authorization: Bearer <key>` or `x-api-key: <key>`."""
TAGS = (
    ("Chat Completions", "OpenAI-compatible Chat Completions"),
    ("Responses", "OpenAI-compatible Responses, stored and retrieved"),
    ("Conversations", "The Conversations API the Responses API continues"),
    ("Anthropic Messages", "Anthropic-compatible Messages"),
    ("Models", "The models this server routes"),
    ("Embeddings", "OpenAI-compatible embeddings"),
    ("Files", "Uploaded files"),
    ("Vector Stores", "Vector stores, their files, batches and search"),
    ("admin", "The operator's API: workspaces, keys, limits and usage"),
    (SERVER, "Health and metrics"),
)


def security_schemes() -> dict[str, Any]:
    return {
        API_KEY: {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key (`openscope keys create`, or `api_keys` in the settings).",
        },
        X_API_KEY: {
            "type": "apiKey",
            "in": "header",
            "name": "x-api-key",
            "description": "The same key, as the Anthropic SDK sends it.",
        },
        ADMIN_KEY: {
            "type": "http",
            "scheme": "bearer",
            "description": "A key with the admin scope (`[platform] admin_keys`).",
        },
    }


def under_prefix(path: str) -> str:
    """The path under the API's prefix; a path under none is its own."""
    for prefix in PREFIXES:
        if path.startswith(f"{prefix}/"):
            return path[len(prefix) :]
    return path


def error_response(errors: ProtocolErrors) -> dict[str, Any]:
    """The API's error body, as its routes really answer one (made by its own encoder)."""
    refused = InvalidParameter("The request names a parameter wrongly; the message says which.")
    return {
        "description": "An error, in this API's own shape: 400 for a refused request, 401 "
        "without a valid key, 404, 413, 429 when a limit is reached, 5xx.",
        "content": {
            JSON: {
                "examples": {
                    "invalid": {"value": errors.body(refused, EXAMPLE_REQUEST_ID)},
                    "no_key": {
                        "value": errors.body(AuthenticationFailed(NO_KEY), EXAMPLE_REQUEST_ID)
                    },
                }
            }
        },
    }


def describe_protocol(operation: dict[str, Any], spec: Operation, components: Components) -> None:
    operation["summary"] = spec.summary
    operation["tags"] = [spec.tag]
    if spec.description:
        operation["description"] = spec.description
    if spec.status != 200:
        operation["responses"] = {
            str(spec.status): {"description": spec.description or spec.summary}
        }
        return
    answer = operation["responses"]["200"]
    if spec.answers != JSON:
        answer["content"] = {spec.answers: {"schema": {"type": "string"}}}
    if spec.streams:
        answer["description"] = 'The answer; with `"stream": true`, as server-sent events.'
        answer["content"]["text/event-stream"] = {
            "schema": {"type": "string", "description": "server-sent events"}
        }
    body = spec.body
    if body is None:
        return
    schema = components.ref(body.model) if body.model is not None else {}
    if body.form is not None:
        schema = body.form()
    operation["requestBody"] = {
        "required": body.required,
        "content": {body.media_type: {"schema": schema, "examples": body.examples()}},
    }


def drop_unsendable_defaults(schemas: dict[str, Any]) -> None:
    """A model may tell "not sent" apart by a default no client may send (the admin API's
    `WorkspaceUpdate.name = ""`, under `min_length=1`); OpenAPI holds a default to its
    schema, so such a default is left out (the field stays optional)."""
    for schema in schemas.values():
        for field in schema.get("properties", {}).values():
            default = field.get("default")
            if isinstance(default, str) and len(default) < field.get("minLength", 0):
                del field["default"]


def openapi_document(
    routes: Sequence[BaseRoute], errors_for: Callable[[str], ProtocolErrors]
) -> dict[str, Any]:
    """The document of `routes` (an app's), with `errors_for(path)` the error table of
    the API a path belongs to. Raises ValueError for a protocol route `operations` does
    not describe, so that no route is documented without its body."""
    document = get_openapi(
        title="openscope",
        version=__version__,
        description=DESCRIPTION,
        routes=routes,
        tags=[{"name": name, "description": text} for name, text in TAGS],
    )
    operations = protocol_operations()
    examples = admin_examples()
    components = Components()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            # the routes answer a malformed query in their API's shape (route_class), as a
            # 400, never with FastAPI's 422
            operation["responses"].pop("422", None)
            key = (method.upper(), path.removeprefix(ADMIN_PREFIX))
            if path.startswith(f"{ADMIN_PREFIX}/"):
                operation["security"] = [{ADMIN_KEY: []}]
                if key in examples:
                    operation["requestBody"]["content"][JSON]["examples"] = examples[key]()
            else:
                spec = operations.get((method.upper(), under_prefix(path)))
                if spec is None:
                    raise ValueError(
                        f"{method.upper()} {path} is not described in server/openapi/operations"
                    )
                describe_protocol(operation, spec, components)
                if path == "/health":
                    operation["security"] = []
                    continue
                any_key: list[dict[str, list[str]]] = [{API_KEY: []}, {X_API_KEY: []}]
                # `{}`: the metrics may be open (`[platform] metrics_need_key = false`)
                operation["security"] = [{}, *any_key] if path == "/metrics" else any_key
            operation["responses"]["default"] = error_response(errors_for(path))
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):  # only the 422s named them
        schemas.pop(unused, None)
    clash = schemas.keys() & components.schemas.keys()
    if clash:
        raise ValueError(f"components named twice: {sorted(clash)}")
    schemas.update(components.schemas)
    drop_unsendable_defaults(schemas)
    document["components"]["securitySchemes"] = security_schemes()
    return document
