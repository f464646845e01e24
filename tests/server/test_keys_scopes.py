"""A stored key holds only the scopes its workspace allows: an admin-scope key outside the
default workspace (from an older database, or written by hand) is not an admin, and the
server says so in its log, once per key."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from openscope.core import accounts
from openscope.core.accounts import ApiKey, Scope, Workspace
from openscope.core.principal import DEFAULT_WORKSPACE
from openscope.server.keys import KeyDirectory, principal_of_key
from openscope.store import Store
from tests.conftest import AppFactory

ADMIN = {"Authorization": "Bearer sk-admin-test"}
PEPPER = "pepper-for-the-test"
CHAT = "/compatible-mode/v1/chat/completions"
ALL_SCOPES = frozenset({Scope.INFERENCE, Scope.ADMIN, Scope.METRICS})


def stored_key(workspace: str, key_id: str = "key-old") -> ApiKey:
    return ApiKey(
        id=key_id,
        name="old",
        workspace=workspace,
        redacted="sk-abcd...wxyz",
        created_at=1,
        scopes=ALL_SCOPES,
    )


def test_a_sub_workspace_key_loses_the_admin_scope() -> None:
    team = principal_of_key(stored_key("team"), Workspace("team", "team", 1))
    assert team.scopes == {Scope.INFERENCE, Scope.METRICS}
    default = principal_of_key(stored_key(DEFAULT_WORKSPACE), Workspace(DEFAULT_WORKSPACE, "", 1))
    assert default.scopes == ALL_SCOPES


class OneKeyStore:
    """A store that knows one key, whatever digest is asked for."""

    def __init__(self, key: ApiKey) -> None:
        self.key = key

    async def key_by_digest(self, digest: str) -> tuple[ApiKey, Workspace]:
        return self.key, Workspace(self.key.workspace, self.key.workspace, 1)


async def test_the_ignored_scope_is_logged_once_per_key(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    store = OneKeyStore(stored_key("team"))
    directory = KeyDirectory(
        store,  # type: ignore[arg-type]
        b"pepper",
        cache_seconds=1.0,
        clock=lambda: now[0],
    )
    with caplog.at_level(logging.WARNING, logger="openscope.keys"):
        for _ in range(3):
            principal = await directory.principal("sk-anything")
            assert principal is not None and Scope.ADMIN not in principal.scopes
            now[0] += 5  # past the cache: each call looks the key up again
        store.key = stored_key("team", "key-other")
        await directory.principal("sk-anything")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert "key-old" in warnings[0] and "team" in warnings[0] and "admin" in warnings[0]
    assert "key-other" in warnings[1]
    assert "sk-anything" not in caplog.text


@pytest.fixture
def client(scripted_client: AppFactory) -> TestClient:
    return scripted_client(platform={"admin_keys": ["sk-admin-test"], "key_pepper": PEPPER})


def test_an_old_admin_key_in_a_workspace_is_not_an_admin(client: TestClient) -> None:
    assert client.post("/admin/v1/workspaces", json={"id": "team"}, headers=ADMIN).is_success
    store: Store = client.app.state.store  # type: ignore[attr-defined]
    value = accounts.new_key()
    # as an older server stored it, before the admin scope was refused outside the default
    client.portal.call(  # type: ignore[union-attr]
        store.create_key, stored_key("team"), accounts.digest(PEPPER.encode(), value)
    )
    as_old_key = {"Authorization": f"Bearer {value}"}
    refused = client.get("/admin/v1/keys", headers=as_old_key)
    assert refused.status_code == 403, refused.text
    body = {"model": "qwen-plus", "messages": [{"role": "user", "content": "hi"}]}
    assert client.post(CHAT, json=body, headers=as_old_key).status_code == 200  # still a key
    listed = client.get("/admin/v1/keys", params={"workspace_id": "team"}, headers=ADMIN)
    assert listed.is_success, listed.text
    # the listing says what the key may do, not the scope it was stored with
    assert [key["scopes"] for key in listed.json()["data"]] == [["inference", "metrics"]]
