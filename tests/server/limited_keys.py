"""Keys with limits on qwen-plus, made through the admin API, for the rate-limit tests."""

from __future__ import annotations

from fastapi.testclient import TestClient

ADMIN_KEY = "sk-admin-test"


def key_with(client: TestClient, **limits: object) -> str:
    """A new key whose limits on qwen-plus are `limits` (the app's admin key is ADMIN_KEY)."""
    response = client.post(
        "/admin/v1/keys",
        json={"name": "limited", "limits": {"qwen-plus": limits}},
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
    )
    assert response.status_code == 200, response.text
    return str(response.json()["value"])


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
