"""The platform's keys and workspaces through the admin API: created keys work, are kept
only as a digest, never show up in logs or error bodies, stop working once revoked, and
call only the models their workspace allows; stored state stays in its workspace."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from openscope.core.accounts import redact
from tests.conftest import AppFactory

ADMIN_KEY = "sk-admin-test"
CHAT = "/compatible-mode/v1/chat/completions"


def chat_body(model: str = "qwen-plus") -> dict[str, object]:
    return {"model": model, "messages": [{"role": "user", "content": "hi"}]}


def admin(client: TestClient) -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_KEY}"}


@pytest.fixture
def client(scripted_client: AppFactory) -> TestClient:
    return scripted_client(platform={"admin_keys": [ADMIN_KEY]})


def create_key(client: TestClient, **body: object) -> dict[str, object]:
    response = client.post("/admin/v1/keys", json={"name": "team", **body}, headers=admin(client))
    assert response.status_code == 200, response.text
    return dict(response.json())


def as_key(key: object) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_a_created_key_is_shown_once_and_works(client: TestClient) -> None:
    created = create_key(client)
    value = str(created["value"])
    assert value.startswith("sk-") and len(value) == 35
    assert created["redacted_value"] == redact(value)
    assert created["workspace_id"] == "default"
    listed = client.get("/admin/v1/keys", headers=admin(client)).json()
    assert [k["id"] for k in listed["data"]] == [created["id"]]
    assert "value" not in listed["data"][0]
    assert value not in client.get(f"/admin/v1/keys/{created['id']}", headers=admin(client)).text
    assert client.post(CHAT, json=chat_body(), headers=as_key(value)).status_code == 200


def test_a_revoked_key_is_refused(client: TestClient) -> None:
    created = create_key(client)
    assert client.post(CHAT, json=chat_body(), headers=as_key(created["value"])).status_code == 200
    revoked = client.delete(f"/admin/v1/keys/{created['id']}", headers=admin(client))
    assert revoked.json() == {"object": "api_key.deleted", "id": created["id"], "deleted": True}
    refused = client.post(CHAT, json=chat_body(), headers=as_key(created["value"]))
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "invalid_api_key"
    shown = client.get(f"/admin/v1/keys/{created['id']}", headers=admin(client)).json()
    assert shown["revoked_at"] is not None


def test_an_expired_key_is_refused(client: TestClient) -> None:
    created = create_key(client, expires_at=1)
    refused = client.post(CHAT, json=chat_body(), headers=as_key(created["value"]))
    assert refused.status_code == 401


def test_the_database_holds_no_key(client: TestClient, tmp_path: Path) -> None:
    created = create_key(client)
    value = str(created["value"]).encode()
    files = list((tmp_path / "data").glob("openscope.db*"))
    assert files
    for file in files:
        assert value not in file.read_bytes()
        assert value[3:] not in file.read_bytes()


def test_no_log_line_or_error_body_holds_a_key(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    created = create_key(client)
    value = str(created["value"])
    texts = [
        client.post(CHAT, json=chat_body(), headers=as_key(value)).text,
        client.post(CHAT, json={"model": "nope"}, headers=as_key(value)).text,
        client.post(CHAT, json=chat_body(), headers=as_key(value + "x")).text,
        client.get("/metrics", headers=as_key(ADMIN_KEY)).text,
    ]
    client.delete(f"/admin/v1/keys/{created['id']}", headers=admin(client))
    texts.append(client.post(CHAT, json=chat_body(), headers=as_key(value)).text)
    for text in [*texts, caplog.text]:
        assert value not in text
        assert value[3:] not in text
        assert ADMIN_KEY not in text


def test_the_admin_api_needs_an_admin_key(client: TestClient) -> None:
    created = create_key(client)
    for headers in ({}, as_key("sk-test"), as_key(created["value"])):
        response = client.get("/admin/v1/keys", headers=headers)
        assert response.status_code in (401, 403), headers
    no_key = TestClient(client.app).get("/admin/v1/keys")
    assert no_key.status_code == 401


def test_a_workspace_key_calls_only_its_models(client: TestClient) -> None:
    made = client.post(
        "/admin/v1/workspaces",
        json={"id": "team-a", "models": ["smollm2-135m-instruct"]},
        headers=admin(client),
    )
    assert made.status_code == 200, made.text
    value = create_key(client, workspace_id="team-a")["value"]
    allowed = client.post(CHAT, json=chat_body("smollm2-135m-instruct"), headers=as_key(value))
    assert allowed.status_code == 200
    denied = client.post(CHAT, json=chat_body("qwen-plus"), headers=as_key(value))
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "access_denied"
    assert denied.json()["error"]["message"] == "Model access denied."
    anthropic = client.post(
        "/apps/anthropic/v1/messages",
        json={**chat_body("qwen-plus"), "max_tokens": 5},
        headers=as_key(value),
    )
    assert anthropic.status_code == 403
    assert anthropic.json()["error"]["type"] == "permission_error"


def test_a_key_narrows_its_workspace_models(client: TestClient) -> None:
    value = create_key(client, models=["qwen-plus"])["value"]
    assert client.post(CHAT, json=chat_body("qwen-plus"), headers=as_key(value)).status_code == 200
    denied = client.post(CHAT, json=chat_body("smollm2-135m-instruct"), headers=as_key(value))
    assert denied.status_code == 403


def test_a_key_on_an_unknown_workspace_is_refused(client: TestClient) -> None:
    response = client.post(
        "/admin/v1/keys", json={"name": "x", "workspace_id": "nope"}, headers=admin(client)
    )
    assert response.status_code == 404
    assert "nope" in response.json()["error"]["message"]


def test_stored_responses_stay_in_their_workspace(client: TestClient) -> None:
    client.post("/admin/v1/workspaces", json={"id": "team-b"}, headers=admin(client))
    mine = create_key(client)["value"]
    theirs = create_key(client, workspace_id="team-b")["value"]
    made = client.post(
        "/compatible-mode/v1/responses",
        json={"model": "qwen-plus", "input": "hi"},
        headers=as_key(mine),
    )
    assert made.status_code == 200, made.text
    path = f"/compatible-mode/v1/responses/{made.json()['id']}"
    assert client.get(path, headers=as_key(mine)).status_code == 200
    assert client.get(path, headers=as_key(theirs)).status_code == 404


def test_limits_overlay_and_delete_in_model_studios_shape(client: TestClient) -> None:
    client.post("/admin/v1/workspaces", json={"id": "team-c"}, headers=admin(client))
    update = {
        "workspace_id": "team-c",
        "models": [{"model": "qwen-plus", "request_limit": 60, "usage_limit": 100000}],
    }
    response = client.post("/admin/v1/models/limits", json=update, headers=admin(client))
    assert response.status_code == 200, response.text
    (quota,) = response.json()["output"]["quotas"]
    assert quota["model"] == "qwen-plus" and quota["workspace_id"] == "team-c"
    assert quota["model_limit"]["request_limit"] == 60
    assert quota["model_limit"]["request_limit_period"] == 60
    assert quota["model_limit"]["usage_limit"] == 100000
    assert quota["model_limit"]["usage_limit_field"] == "total_tokens"
    overlay = {"workspace_id": "team-c", "models": [{"model": "qwen-plus", "request_limit": 30}]}
    client.post("/admin/v1/models/limits", json=overlay, headers=admin(client))
    listed = client.get("/admin/v1/quotas?workspace_id=team-c", headers=admin(client)).json()
    limit = listed["output"]["quotas"][0]["model_limit"]
    assert (limit["request_limit"], limit["usage_limit"]) == (30, 100000)
    delete = {
        "workspace_id": "team-c",
        "models": [{"model": "qwen-plus", "operation_type": "DELETE"}],
    }
    client.post("/admin/v1/models/limits", json=delete, headers=admin(client))
    listed = client.get("/admin/v1/quotas?workspace_id=team-c", headers=admin(client)).json()
    assert listed["output"]["quotas"] == []


def test_the_admin_api_is_documented() -> None:
    from openscope.server.admin import admin_router, admin_schema
    from openscope.server.admin.service import AdminService

    async def nobody(request: object) -> object:
        raise AssertionError

    schema = admin_schema(admin_router(AdminService(None, None), nobody))  # type: ignore[arg-type]
    paths = schema["paths"]
    for path in ("/admin/v1/keys", "/admin/v1/workspaces", "/admin/v1/models/limits"):
        assert path in paths
    assert "KeyCreate" in schema["components"]["schemas"]


def test_the_default_workspace_cannot_be_narrowed(client: TestClient) -> None:
    limits = {"workspace_id": "default", "models": [{"model": "qwen-plus", "request_limit": 1}]}
    refused = client.post("/admin/v1/models/limits", json=limits, headers=admin(client))
    assert refused.status_code == 400
    assert "default workspace" in refused.json()["error"]["message"]
    models = client.post("/admin/v1/workspaces/default", json={"models": []}, headers=admin(client))
    assert models.status_code == 400
    renamed = client.post(
        "/admin/v1/workspaces/default", json={"name": "Main"}, headers=admin(client)
    )
    assert renamed.status_code == 200 and renamed.json()["name"] == "Main"


def test_configured_key_ids_depend_on_the_pepper(scripted_client: AppFactory) -> None:
    from openscope.server.keys import configured_key_id

    assert configured_key_id(b"one", "sk-test") != configured_key_id(b"two", "sk-test")


def test_with_the_platform_off_only_the_configured_keys_exist(
    scripted_client: AppFactory,
) -> None:
    off = scripted_client(platform={"enabled": False})
    assert off.post(CHAT, json=chat_body()).status_code == 200
    answer = off.post(CHAT, json=chat_body())
    assert "x-ratelimit-limit-requests" not in answer.headers  # no limits, not even Model Studio's
    assert off.get("/admin/v1/keys").status_code == 404
    assert off.post(CHAT, json=chat_body(), headers=as_key("sk-other")).status_code == 401
