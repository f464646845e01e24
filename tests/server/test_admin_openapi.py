"""The admin API's OpenAPI document (`/admin/v1/openapi.json`) documents every admin route
the app serves: its request body where it takes one and its answer, and what the GET
routes answer live is what the document says they answer."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator

from openscope.server.admin import ADMIN_PREFIX
from tests.conftest import AppFactory

ADMIN_KEY = "sk-admin-test"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
CHAT = "/compatible-mode/v1/chat/completions"
DOCUMENT = f"{ADMIN_PREFIX}/openapi.json"


@pytest.fixture
def client(scripted_client: AppFactory) -> TestClient:
    return scripted_client(platform={"admin_keys": [ADMIN_KEY]})


@pytest.fixture
def document(client: TestClient) -> dict[str, Any]:
    response = client.get(DOCUMENT, headers=ADMIN)
    assert response.status_code == 200, response.text
    return dict(response.json())


def admin_routes(client: TestClient) -> list[APIRoute]:
    """Every API route of the app under the admin prefix (an included router's routes are
    behind an entry of its own in `app.routes`: FastAPI walks them for us)."""
    routes = []
    for context in iter_route_contexts(client.app.routes):  # type: ignore[attr-defined]
        route = context.original_route
        if isinstance(route, APIRoute) and route.path.startswith(ADMIN_PREFIX):
            routes.append(route)
    assert len(routes) > 5
    return routes


def documented_routes(client: TestClient) -> list[APIRoute]:
    """The routes in the document. A route left out must be the document itself, or an
    alias of a documented route (the same handler under a second path)."""
    routes = admin_routes(client)
    shown = [route for route in routes if route.include_in_schema]
    for route in routes:
        if not route.include_in_schema and route.path != DOCUMENT:
            assert any(route.endpoint is other.endpoint for other in shown), route.path
    return shown


def answer_schema(document: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    operation = document["paths"][path][method]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    return dict(schema)


def validator(document: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    """`schema` with the document's components beside it, so its `$ref`s resolve."""
    return Draft202012Validator({**schema, "components": document["components"]})


def wait_for_usage(client: TestClient, since: int) -> None:
    """Until the ledger's writer has recorded the call (it writes in the background)."""
    deadline = time.monotonic() + 10
    query = {"start_time": since}
    while not any(
        bucket["results"]
        for bucket in client.get(f"{ADMIN_PREFIX}/usage", params=query, headers=ADMIN).json()[
            "data"
        ]
    ):
        assert time.monotonic() < deadline, "no usage recorded"
        time.sleep(0.05)


def test_every_admin_route_documents_its_body_and_its_answer(
    client: TestClient, document: dict[str, Any]
) -> None:
    schemas = document["components"]["schemas"]
    for route in documented_routes(client):
        for method in route.methods:
            operation = document["paths"][route.path][method.lower()]
            if route.body_field is not None:
                body = operation["requestBody"]["content"]["application/json"]["schema"]
                assert body["$ref"].removeprefix("#/components/schemas/") in schemas
            else:
                assert "requestBody" not in operation, route.path
            answer = answer_schema(document, route.path, method.lower())
            # a named model, not FastAPI's "any object" for a handler returning a dict
            name = answer.get("$ref", "").removeprefix("#/components/schemas/")
            assert name in schemas, (method, route.path, answer)
            assert schemas[name]["properties"], name


def test_every_get_answer_is_what_the_document_says(
    client: TestClient, document: dict[str, Any]
) -> None:
    # something in every listing: a workspace with limits, a key with limits, some usage
    workspace = {"id": "team", "models": ["qwen-plus"]}
    assert client.post(f"{ADMIN_PREFIX}/workspaces", json=workspace, headers=ADMIN).is_success
    limits = {"workspace_id": "team", "models": [{"model": "qwen-plus", "request_limit": 60}]}
    assert client.post(f"{ADMIN_PREFIX}/models/limits", json=limits, headers=ADMIN).is_success
    body = {"name": "k", "workspace_id": "team", "limits": {"*": {"rpm": 5, "rps": 0.5}}}
    key = client.post(f"{ADMIN_PREFIX}/keys", json=body, headers=ADMIN).json()
    chat = {"model": "qwen-plus", "messages": [{"role": "user", "content": "hi"}]}
    as_key = {"Authorization": f"Bearer {key['value']}"}
    assert client.post(CHAT, json=chat, headers=as_key).status_code == 200
    values = {"workspace_id": "team", "key_id": key["id"], "start_time": int(time.time()) - 60}
    wait_for_usage(client, values["start_time"])

    checked = []
    for route in documented_routes(client):
        if "GET" not in route.methods:
            continue
        operation = document["paths"][route.path]["get"]
        path, query = route.path, {}
        for parameter in operation.get("parameters", []):
            name = parameter["name"]
            if parameter["in"] == "path":
                path = path.replace(f"{{{name}}}", str(values[name]))
            elif parameter.get("required"):
                query[name] = values[name]
        response = client.get(path, params=query, headers=ADMIN)
        assert response.status_code == 200, (path, response.text)
        schema = answer_schema(document, route.path, "get")
        errors = list(validator(document, schema).iter_errors(response.json()))
        assert not errors, (path, [error.message for error in errors])
        checked.append(route.path)
    assert f"{ADMIN_PREFIX}/keys/{{key_id}}" in checked  # the path parameters were filled


def test_the_document_refuses_what_strays_from_it(document: dict[str, Any]) -> None:
    """The check above can fail: an answer with a field too many, or one missing, or of
    the wrong type, does not validate."""
    schema = answer_schema(document, f"{ADMIN_PREFIX}/keys/{{key_id}}", "get")
    check = validator(document, schema)
    key = {
        "object": "api_key",
        "id": "key-1",
        "name": "k",
        "workspace_id": "team",
        "redacted_value": "sk-abcd...wxyz",
        "created_at": 1,
        "last_used_at": None,
        "expires_at": None,
        "revoked_at": None,
        "scopes": ["inference"],
        "models": None,
        "limits": {"*": {"rpm": 5}},
    }
    assert check.is_valid(key)
    assert not check.is_valid({**key, "value": "sk-secret"})
    assert not check.is_valid({k: v for k, v in key.items() if k != "revoked_at"})
    assert not check.is_valid({**key, "limits": {"*": {"rpm": "5"}}})


def test_usage_by_status_is_documented_and_answers_as_documented(
    client: TestClient, document: dict[str, Any]
) -> None:
    path = f"{ADMIN_PREFIX}/usage"
    parameters = {p["name"]: p for p in document["paths"][path]["get"]["parameters"]}
    assert "status" in parameters["group_by"]["description"]
    result = document["components"]["schemas"]["UsageResult"]
    assert "status" in result["required"] and "limit_requests" in str(result["properties"])
    since = int(time.time()) - 60
    chat = {"model": "qwen-plus", "messages": [{"role": "user", "content": "hi"}]}
    assert client.post(CHAT, json=chat).status_code == 200
    wait_for_usage(client, since)
    query = {"start_time": since, "group_by": ["api_key_id", "status"]}
    answer = client.get(path, params=query, headers=ADMIN).json()
    errors = list(validator(document, answer_schema(document, path, "get")).iter_errors(answer))
    assert not errors, [error.message for error in errors]
    results = [r for bucket in answer["data"] for r in bucket["results"]]
    assert [r["status"] for r in results] == ["ok"]
