"""`/openapi.json` documents every route the app serves, with the request bodies the
routes really accept: it is a valid OpenAPI 3.1 document, each body's schema is its wire
model's, and every example in it is posted to a real app (over the scripted backend) and
accepted. `/docs` renders it from assets served here, naming no other host."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import APIRouter
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from httpx import Response
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from openscope.protocols.openai_chat import ERRORS as CHAT_ERRORS
from openscope.server.admin import ADMIN_PREFIX
from openscope.server.openapi import DOCS_PATH, OPENAPI_PATH, openapi_document
from openscope.server.openapi.components import REF
from openscope.server.openapi.document import ADMIN_KEY, under_prefix
from openscope.server.openapi.examples import FILE_ID
from openscope.server.openapi.operations import FORM, JSON, protocol_operations
from tests.conftest import AppFactory

ADMIN_SECRET = "sk-admin-test"
ADMIN = {"Authorization": f"Bearer {ADMIN_SECRET}"}
V1 = "/compatible-mode/v1"
# the routes that are the documentation itself, not in it
DOCUMENTATION = {OPENAPI_PATH, f"{ADMIN_PREFIX}/openapi.json"}
NOTES = b"Passwords are reset from the account page, under Security.\n"
# The one POST that takes no body: cancelling a batch.
BODILESS_POSTS = {"/file_batches/{batch_id}/cancel"}


@pytest.fixture
def client(scripted_client: AppFactory) -> TestClient:
    # without the catalogue's rate limits: the examples go out faster than qwen-plus's
    # 10 requests a second, and what is checked is that they are accepted
    return scripted_client(platform={"admin_keys": [ADMIN_SECRET], "catalogue_limits": False})


@pytest.fixture
def document(client: TestClient) -> dict[str, Any]:
    # no key, and a wrong one, are no obstacle: the document is public
    response = client.get(OPENAPI_PATH, headers={"Authorization": "Bearer sk-wrong"})
    assert response.status_code == 200, response.text
    return dict(response.json())


@dataclass(frozen=True)
class Example:
    path: str
    method: str
    operation: dict[str, Any]
    media_type: str
    schema: dict[str, Any]
    name: str
    value: dict[str, Any]


def examples(document: dict[str, Any]) -> Iterator[Example]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for media_type, media in operation.get("requestBody", {}).get("content", {}).items():
                for name, example in media.get("examples", {}).items():
                    yield Example(
                        path, method, operation, media_type, media["schema"], name, example["value"]
                    )


def served_routes(client: TestClient) -> list[APIRoute]:
    """Every API route of the app, but the documentation's own and the aliases left out
    of the document on purpose (the same handler as a documented route)."""
    routes = [
        context.original_route
        for context in iter_route_contexts(client.app.routes)  # type: ignore[attr-defined]
        if isinstance(context.original_route, APIRoute)
    ]
    shown = [route for route in routes if route.include_in_schema]
    for route in routes:
        if not route.include_in_schema and route.path not in DOCUMENTATION:
            documentation = route.path == DOCS_PATH or route.path.startswith(f"{DOCS_PATH}/")
            # the console's pages (the operator view) are for browsers, not an API
            console = route.path == "/console/operator" or route.path.startswith("/console/")
            alias = any(route.endpoint is other.endpoint for other in shown)
            assert documentation or console or alias, route.path
    return shown


def resolved(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].removeprefix(REF)]
    return schema


def validator(document: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    """`schema` with the document's components beside it, so its `$ref`s resolve."""
    return Draft202012Validator({**schema, "components": document["components"]})


def upload(client: TestClient) -> str:
    response = client.post(
        f"{V1}/files",
        files={"file": ("notes.txt", NOTES, "text/plain")},
        data={"purpose": "assistants"},
    )
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def made_for(client: TestClient, example: Example) -> dict[str, str]:
    """What an example's path and body name, made anew for it: a vector store holding a
    file, a conversation, a workspace, and a file not yet in the store for `FILE_ID`."""
    if "{" not in example.path and FILE_ID not in str(example.value):
        return {}
    in_store = upload(client)
    store = client.post(f"{V1}/vector_stores", json={"name": "test"}).json()["id"]
    added = client.post(f"{V1}/vector_stores/{store}/files", json={"file_id": in_store})
    assert added.status_code == 200, added.text
    conversation = client.post(f"{V1}/conversations", json={}).json()["id"]
    workspace = f"ws-{uuid.uuid4().hex[:12]}"
    made = client.post(f"{ADMIN_PREFIX}/workspaces", json={"id": workspace}, headers=ADMIN)
    assert made.status_code == 200, made.text
    return {
        "store_id": store,
        "file_id": in_store,
        "conversation_id": conversation,
        "workspace_id": workspace,
        FILE_ID: upload(client),
    }


def send(client: TestClient, example: Example, value: dict[str, Any]) -> Response:
    """`value` sent as the example's operation takes its body."""
    names = made_for(client, example)
    path = re.sub(r"\{(\w+)\}", lambda m: names[m.group(1)], example.path)
    if FILE_ID in names:
        value = replace_strings(value, FILE_ID, names[FILE_ID])
    headers = ADMIN if example.operation["security"] == [{ADMIN_KEY: []}] else None
    if example.media_type == FORM:
        properties = example.schema["properties"]
        files = {
            name: ("example.txt", str(text).encode(), "text/plain")
            for name, text in value.items()
            if "contentMediaType" in properties[name]
        }
        data = {name: text for name, text in value.items() if name not in files}
        return client.request(example.method, path, files=files, data=data, headers=headers)
    assert example.media_type == JSON
    return client.request(example.method, path, json=value, headers=headers)


def replace_strings(value: Any, old: str, new: str) -> Any:
    if isinstance(value, dict):
        return {k: replace_strings(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [replace_strings(v, old, new) for v in value]
    return new if value == old else value


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1.")
    validate(document)  # raises on an invalid document


def test_every_route_the_app_serves_is_documented(
    client: TestClient, document: dict[str, Any]
) -> None:
    routes = served_routes(client)
    documented = 0
    for route in routes:
        for method in route.methods - {"HEAD"}:
            operation = document["paths"][route.path_format][method.lower()]
            assert operation["summary"], (method, route.path)
            documented += 1
    # the protocols under both prefixes, the admin API, health and metrics
    assert documented == sum(len(item) for item in document["paths"].values())
    assert documented > 80
    for path in (f"{V1}/chat/completions", "/apps/anthropic/v1/messages", "/v1/embeddings"):
        assert "post" in document["paths"][path]


def test_every_post_documents_its_body(document: dict[str, Any]) -> None:
    for path, item in document["paths"].items():
        operation = item.get("post")
        if operation is None:
            continue
        body = operation.get("requestBody")
        if body is None:
            assert path.endswith(tuple(BODILESS_POSTS)), path
            continue
        for media in body["content"].values():
            assert media["schema"], path
            assert media["examples"], path


def test_the_bodies_are_the_wire_models(document: dict[str, Any]) -> None:
    """Each JSON body's schema has exactly its wire model's fields, as the model reads
    them (by alias: the chat API's `schema`, not `schema_`)."""
    checked = 0
    for (method, path), spec in protocol_operations().items():
        if spec.body is None or spec.body.model is None:
            continue
        full = next(p for p in document["paths"] if p != path and under_prefix(p) == path)
        media = document["paths"][full][method.lower()]["requestBody"]["content"][JSON]
        schema = resolved(document, media["schema"])
        fields = {f.alias or name for name, f in spec.body.model.model_fields.items()}
        assert set(schema["properties"]) == fields, path
        checked += 1
    assert checked >= 14


def test_every_example_is_accepted(client: TestClient, document: dict[str, Any]) -> None:
    """Posted in the document's order, as a reader would: the admin API's limits example
    names the workspace its workspace example creates."""
    posted = set()
    for example in examples(document):
        if example.media_type == JSON:
            problems = list(validator(document, example.schema).iter_errors(example.value))
            assert not problems, (example.path, example.name, [p.message for p in problems])
        response = send(client, example, example.value)
        assert response.is_success, (example.method, example.path, example.name, response.text)
        posted.add((example.method, example.path))
    bodies = {
        (method, path)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if "requestBody" in operation
    }
    assert posted == bodies  # every body-taking route, under every prefix
    assert len(posted) > 30


def test_a_body_without_a_required_field_is_refused(
    client: TestClient, document: dict[str, Any]
) -> None:
    """The schemas' `required` is what the routes require: leaving out any one of an
    example's required fields makes it invalid, and the route answers 400."""
    refused = 0
    for example in examples(document):
        if not example.path.startswith((V1, ADMIN_PREFIX)):
            continue  # the other prefixes serve the same handlers
        schema = resolved(document, example.schema)
        for field in schema.get("required", []):
            value = {k: v for k, v in example.value.items() if k != field}
            if example.media_type == JSON:
                assert not validator(document, example.schema).is_valid(value)
            response = send(client, example, value)
            assert response.status_code == 400, (example.path, field, response.text)
            refused += 1
    assert refused > 10


def test_a_route_the_table_does_not_describe_is_refused(client: TestClient) -> None:
    """No route slips into the document without its body: one unknown to the operations
    table stops the document."""
    router = APIRouter()

    async def new_thing() -> dict[str, str]:
        return {}

    router.add_api_route(f"{V1}/new_thing", new_thing, methods=["POST"])
    with pytest.raises(ValueError, match="new_thing"):
        openapi_document([*client.app.routes, *router.routes], lambda path: CHAT_ERRORS)  # type: ignore[attr-defined]


def test_errors_are_documented_in_each_apis_shape(document: dict[str, Any]) -> None:
    paths = document["paths"]
    anthropic = paths["/apps/anthropic/v1/messages"]["post"]["responses"]["default"]
    chat = paths[f"{V1}/chat/completions"]["post"]["responses"]["default"]
    responses = paths[f"{V1}/responses"]["post"]["responses"]["default"]
    assert anthropic["content"][JSON]["examples"]["invalid"]["value"]["type"] == "error"
    assert "error" in chat["content"][JSON]["examples"]["no_key"]["value"]
    assert "code" in responses["content"][JSON]["examples"]["invalid"]["value"]
    assert not any(
        "422" in operation["responses"] for item in paths.values() for operation in item.values()
    )


def test_the_docs_page_loads_and_names_no_other_host(client: TestClient) -> None:
    page = client.get(DOCS_PATH, headers={"Authorization": "Bearer sk-wrong"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    linked = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert linked
    texts = [page.text]  # the page and what it loads, not the document it links to
    for link in linked:
        assert not re.match(r"^(?:[a-z]+:|//)", link), link  # relative: this server
        answer = client.get(f"/{link}", headers={"Authorization": "Bearer sk-wrong"})
        assert answer.status_code == 200, link
        if link != OPENAPI_PATH.lstrip("/"):
            texts.append(answer.text)
    assert len(texts) == 3  # the page, its script and its style sheet
    assert any("openapi.json" in text for text in texts[1:])  # the script reads the document
    for text in texts:
        assert not re.search(r"https?://|url\(|@import", text)
