"""The admin API answers client input it cannot take with a 400 in its error shape, never
a 500: numbers that are not finite or too large for the database (or for the limiters'
arithmetic), query integers in anything but ASCII digits, NUL characters (which
PostgreSQL cannot store) anywhere, and an admin key outside the default workspace."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import AppFactory

ADMIN_KEY = "sk-admin-test"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
CHAT = "/compatible-mode/v1/chat/completions"


@pytest.fixture
def client(scripted_client: AppFactory) -> TestClient:
    made = scripted_client(platform={"admin_keys": [ADMIN_KEY]})
    assert made.post("/admin/v1/workspaces", json={"id": "team"}, headers=ADMIN).status_code == 200
    return made


def post_raw(client: TestClient, path: str, text: str) -> Any:
    """POST a body as written: Python's json reads Infinity and NaN, so a client may send them."""
    headers = {**ADMIN, "content-type": "application/json"}
    return client.post(path, content=text, headers=headers)


def assert_refused(response: Any, param: str) -> None:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["code"] == "invalid_parameter_error"
    assert error["param"] == param
    assert error["message"].startswith(f"Invalid '{param}': ")


@pytest.mark.parametrize("number", ["Infinity", "-Infinity", "NaN"])
@pytest.mark.parametrize("field", ["rps", "tps"])
def test_a_key_limit_that_is_not_finite_is_refused(
    client: TestClient, number: str, field: str
) -> None:
    body = f'{{"name": "x", "workspace_id": "team", "limits": {{"*": {{"{field}": {number}}}}}}}'
    assert_refused(post_raw(client, "/admin/v1/keys", body), f"limits.*.{field}")
    assert client.get("/admin/v1/keys", headers=ADMIN).json()["data"] == []


@pytest.mark.parametrize("number", ["Infinity", "NaN"])
@pytest.mark.parametrize("field", ["request_per_second_limit", "usage_per_second_limit"])
def test_a_model_limit_that_is_not_finite_is_refused(
    client: TestClient, number: str, field: str
) -> None:
    body = f'{{"workspace_id": "team", "models": [{{"model": "qwen-plus", "{field}": {number}}}]}}'
    assert_refused(post_raw(client, "/admin/v1/models/limits", body), f"models.0.{field}")
    quotas = client.get("/admin/v1/quotas?workspace_id=team", headers=ADMIN).json()
    assert quotas["output"]["quotas"] == []


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/admin/v1/keys", {"name": "x", "limits": {"*": {"rpm": 2**63}}}, "limits.*.rpm"),
        ("/admin/v1/keys", {"name": "x", "limits": {"*": {"tpd": 10**30}}}, "limits.*.tpd"),
        ("/admin/v1/keys", {"name": "x", "limits": {"*": {"rps": 1e300}}}, "limits.*.rps"),
        # a rate this small makes a wait (and a Redis expiry in ms) beyond any integer
        ("/admin/v1/keys", {"name": "x", "limits": {"*": {"tps": 1e-300}}}, "limits.*.tps"),
        ("/admin/v1/keys", {"name": "x", "expires_at": 2**63}, "expires_at"),
        ("/admin/v1/keys", {"name": "x", "expires_at": -1}, "expires_at"),
        (
            "/admin/v1/models/limits",
            {"workspace_id": "team", "models": [{"model": "m", "usage_limit": 2**64}]},
            "models.0.usage_limit",
        ),
        (
            "/admin/v1/models/limits",
            {"workspace_id": "team", "models": [{"model": "m", "concurrency_limit": 10**19}]},
            "models.0.concurrency_limit",
        ),
    ],
)
def test_numbers_beyond_the_database_are_refused(
    client: TestClient, path: str, body: dict[str, Any], param: str
) -> None:
    assert_refused(client.post(path, json=body, headers=ADMIN), param)


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        # JSON true is not the count 1, and "60" is not a number (the settings agree)
        ("/admin/v1/keys", {"name": "x", "limits": {"*": {"rpm": True}}}, "limits.*.rpm"),
        ("/admin/v1/keys", {"name": "x", "limits": {"*": {"tpd": "60"}}}, "limits.*.tpd"),
        ("/admin/v1/keys", {"name": "x", "limits": {"*": {"rps": True}}}, "limits.*.rps"),
        (
            "/admin/v1/models/limits",
            {"workspace_id": "team", "models": [{"model": "m", "request_limit": True}]},
            "models.0.request_limit",
        ),
        (
            "/admin/v1/models/limits",
            {"workspace_id": "team", "models": [{"model": "m", "concurrency_limit": 2.0}]},
            "models.0.concurrency_limit",
        ),
    ],
)
def test_a_count_is_a_whole_number_not_a_bool(
    client: TestClient, path: str, body: dict[str, Any], param: str
) -> None:
    assert_refused(client.post(path, json=body, headers=ADMIN), param)


def test_sane_numbers_still_pass(client: TestClient) -> None:
    body = {
        "name": "x",
        "workspace_id": "team",
        "expires_at": 4_102_444_800,  # 2100
        "limits": {"*": {"rpm": 10**9, "tpm": 10**12, "rps": 0.5, "tps": 1e6, "tpd": 10**12}},
    }
    created = client.post("/admin/v1/keys", json=body, headers=ADMIN)
    assert created.status_code == 200, created.text
    assert created.json()["limits"]["*"]["rps"] == 0.5


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("start_time=0&page=%C2%B2", "page"),  # '²' passes str.isdigit()
        ("start_time=0&page=%D9%A1", "page"),  # an Arabic-Indic 1, which int() reads
        ("start_time=0&page=-5", "page"),
        ("start_time=0&page=" + "9" * 30, "page"),
        ("start_time=1_000", "start_time"),  # pydantic reads 1_000 as 1000
        ("start_time=" + str(2**63), "start_time"),
        ("start_time=99999999999999", "start_time"),  # times 1000 is past 2**63
        ("start_time=0&end_time=" + str(2**63), "end_time"),
        ("start_time=0&limit=1_0", "limit"),
        ("start_time=0&limit=" + "9" * 30, "limit"),
    ],
)
def test_usage_query_integers_are_ascii_digits_and_bounded(
    client: TestClient, query: str, param: str
) -> None:
    assert_refused(client.get(f"/admin/v1/usage?{query}", headers=ADMIN), param)


def test_a_usage_page_cursor_still_works(client: TestClient) -> None:
    first = client.get("/admin/v1/usage?start_time=0&end_time=864000&limit=5", headers=ADMIN)
    assert first.status_code == 200 and first.json()["next_page"] == "432000"
    second = client.get("/admin/v1/usage?start_time=0&end_time=864000&page=432000", headers=ADMIN)
    assert second.status_code == 200
    assert second.json()["data"][0]["start_time"] == 432000


def test_a_key_list_limit_is_ascii_digits(client: TestClient) -> None:
    assert_refused(client.get("/admin/v1/keys?limit=1_0", headers=ADMIN), "limit")


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/admin/v1/workspaces", {"id": "nul", "name": "a\x00b"}, "name"),
        ("/admin/v1/workspaces", {"id": "nul", "models": ["qwen\x00"]}, "models.0"),
        ("/admin/v1/workspaces/team", {"name": "\x00"}, "name"),
        ("/admin/v1/keys", {"name": "a\x00"}, "name"),
        ("/admin/v1/keys", {"name": "a", "workspace_id": "te\x00am"}, "workspace_id"),
        ("/admin/v1/keys", {"name": "a", "models": ["m\x00"]}, "models.0"),
        ("/admin/v1/keys", {"name": "a", "limits": {"m\x00": {"rpm": 1}}}, "limits.m\x00.[key]"),
        (
            "/admin/v1/models/limits",
            {"workspace_id": "team", "models": [{"model": "m\x00", "request_limit": 1}]},
            "models.0.model",
        ),
        (
            "/admin/v1/models/limits",
            {"key_id": "key-\x00", "models": [{"model": "m", "request_limit": 1}]},
            "key_id",
        ),
    ],
)
def test_nul_characters_in_a_body_are_refused(
    client: TestClient, path: str, body: dict[str, Any], param: str
) -> None:
    response = client.post(path, json=body, headers=ADMIN)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_parameter_error"
    assert "NUL" in error["message"]
    assert error["param"] == param.replace(".[key]", "")
    assert "\x00" not in json.dumps(client.get("/admin/v1/workspaces", headers=ADMIN).json())


@pytest.mark.parametrize(
    ("method", "path", "param"),
    [
        ("GET", "/admin/v1/workspaces/te%00am", "workspace_id"),
        ("POST", "/admin/v1/workspaces/te%00am", "workspace_id"),
        ("GET", "/admin/v1/keys/key-%00", "key_id"),
        ("DELETE", "/admin/v1/keys/key-%00", "key_id"),
        ("GET", "/admin/v1/keys?workspace_id=%00", "workspace_id"),
        ("GET", "/admin/v1/keys?after=key-%00", "after"),
        ("GET", "/admin/v1/quotas?model=%00", "model"),
        ("GET", "/admin/v1/usage?start_time=0&models=a&models=b%00", "models"),
        ("GET", "/admin/v1/usage?start_time=0&api_key_ids=%00", "api_key_ids"),
    ],
)
def test_nul_characters_in_a_path_or_query_are_refused(
    client: TestClient, method: str, path: str, param: str
) -> None:
    body = {"name": "x"} if method == "POST" else None
    response = client.request(method, path, json=body, headers=ADMIN)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == param
    assert "NUL" in error["message"]


def test_nul_checks_come_after_authentication(client: TestClient) -> None:
    assert client.get("/admin/v1/keys/key-%00").status_code in (401, 403)


def test_an_admin_key_belongs_to_the_default_workspace(client: TestClient) -> None:
    body = {"name": "x", "workspace_id": "team", "scopes": ["inference", "admin"]}
    refused = client.post("/admin/v1/keys", json=body, headers=ADMIN)
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["param"] == "scopes"
    assert "default workspace" in refused.json()["error"]["message"]
    assert client.get("/admin/v1/keys", headers=ADMIN).json()["data"] == []
    made = client.post(
        "/admin/v1/keys", json={"name": "x", "scopes": ["admin"]}, headers=ADMIN
    ).json()
    assert made["workspace_id"] == "default" and made["scopes"] == ["admin"]
    as_admin = {"Authorization": f"Bearer {made['value']}"}
    assert client.get("/admin/v1/workspaces", headers=as_admin).status_code == 200


def test_a_metrics_key_may_live_in_a_workspace(client: TestClient) -> None:
    body = {"name": "x", "workspace_id": "team", "scopes": ["inference", "metrics"]}
    assert client.post("/admin/v1/keys", json=body, headers=ADMIN).status_code == 200


@pytest.mark.parametrize("name", ['""', "null"])
def test_a_workspace_name_that_is_given_is_not_empty(client: TestClient, name: str) -> None:
    created = client.post(
        "/admin/v1/workspaces", json={"id": "crew", "name": "Crew"}, headers=ADMIN
    )
    assert created.status_code == 200, created.text
    refused = post_raw(client, "/admin/v1/workspaces/crew", f'{{"name": {name}}}')
    assert_refused(refused, "name")
    kept = client.get("/admin/v1/workspaces/crew", headers=ADMIN).json()
    assert kept["name"] == "Crew"


def test_an_expiry_of_true_is_not_one_second_after_the_epoch(client: TestClient) -> None:
    refused = post_raw(client, "/admin/v1/keys", '{"name": "k", "expires_at": true}')
    assert_refused(refused, "expires_at")
