"""`GET /admin/v1/quotas` as Model Studio's list of quotas has it: a `request_id`, pages by
`page_no` (from 1) and `page_size` (default 20), `model` exact and `name` a part of a
model's name; a page or size out of range is a 400, never ignored."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import AppFactory

ADMIN = {"Authorization": "Bearer sk-admin-test"}
MODELS = ["qwen-max", "qwen-plus", "qwen-plus-latest", "qwen-turbo", "qwq-plus"]


@pytest.fixture
def client(scripted_client: AppFactory) -> TestClient:
    made = scripted_client(platform={"admin_keys": ["sk-admin-test"]})
    for workspace in ("alpha", "beta"):
        assert made.post("/admin/v1/workspaces", json={"id": workspace}, headers=ADMIN).is_success
        limits = [{"model": model, "request_limit": 60} for model in MODELS]
        body = {"workspace_id": workspace, "models": limits}
        assert made.post("/admin/v1/models/limits", json=body, headers=ADMIN).is_success
    return made


def quotas(client: TestClient, **query: Any) -> dict[str, Any]:
    response = client.get("/admin/v1/quotas", params=query, headers=ADMIN)
    assert response.status_code == 200, response.text
    body = dict(response.json())
    assert body["request_id"] == response.headers["x-request-id"]
    return body


def listed(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [(q["workspace_id"], q["model"]) for q in body["output"]["quotas"]]


def test_a_page_is_twenty_by_default(client: TestClient) -> None:
    output = quotas(client)["output"]
    assert (output["total"], output["page_no"], output["page_size"]) == (10, 1, 20)
    assert len(output["quotas"]) == 10


def test_pages_split_the_list_in_order(client: TestClient) -> None:
    whole = listed(quotas(client))
    pages = [quotas(client, page_no=n, page_size=4) for n in (1, 2, 3, 4)]
    assert [len(listed(page)) for page in pages] == [4, 4, 2, 0]
    assert [item for page in pages for item in listed(page)] == whole
    assert all(page["output"]["total"] == 10 for page in pages)
    assert pages[1]["output"]["page_no"] == 2 and pages[1]["output"]["page_size"] == 4


def test_model_is_exact_and_name_is_a_part(client: TestClient) -> None:
    exact = quotas(client, model="qwen-plus", workspace_id="alpha")
    assert listed(exact) == [("alpha", "qwen-plus")]
    fuzzy = quotas(client, name="PLUS", workspace_id="beta")
    assert [model for _, model in listed(fuzzy)] == ["qwen-plus", "qwen-plus-latest", "qwq-plus"]
    assert fuzzy["output"]["total"] == 3
    both = quotas(client, name="plus", model="qwq-plus")
    assert listed(both) == [("alpha", "qwq-plus"), ("beta", "qwq-plus")]
    paged = quotas(client, name="plus", page_no=2, page_size=2)
    assert paged["output"]["total"] == 6
    assert listed(paged) == [("alpha", "qwq-plus"), ("beta", "qwen-plus")]


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("page_no", "0"),
        ("page_size", "0"),
        ("page_size", "101"),
        ("page_no", "x"),
        ("page_size", "-1"),
    ],
)
def test_a_page_out_of_range_is_refused(client: TestClient, param: str, value: str) -> None:
    response = client.get("/admin/v1/quotas", params={param: value}, headers=ADMIN)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param
