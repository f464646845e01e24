"""The operator view's static files at /console/operator/: each served with its type and a
same-origin-only policy, every module the page imports served, nothing from another host."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from openscope.console.operator_routes import ASSETS, FILES, OPERATOR_PATH, operator_router

# The one absolute URL allowed: the SVG namespace, which is a name, not something fetched.
SVG_NAMESPACE = "http://www.w3.org/2000/svg"
URL = re.compile(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", re.IGNORECASE)
IMPORT = re.compile(r"""(?:import|from)\s+["']\./([\w.-]+)["']""")


@pytest.fixture
def client() -> Iterator[TestClient]:
    app = FastAPI()
    app.include_router(operator_router())
    with TestClient(app) as client:
        yield client


def test_the_page_is_html_under_a_same_origin_policy(client: TestClient) -> None:
    answer = client.get(f"{OPERATOR_PATH}/")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/html; charset=utf-8"
    policy = answer.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "script-src 'self'" in policy
    assert "connect-src 'self'" in policy
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert '<script type="module" src="operator.js">' in answer.text


def test_the_bare_path_redirects_to_the_page(client: TestClient) -> None:
    answer = client.get(OPERATOR_PATH, follow_redirects=False)
    assert answer.status_code == 308
    assert answer.headers["location"] == f"{OPERATOR_PATH}/"


@pytest.mark.parametrize(("name", "entry"), sorted(FILES.items()))
def test_each_asset_is_served_with_its_type(
    client: TestClient, name: str, entry: tuple[str, str]
) -> None:
    file, media_type = entry
    answer = client.get(f"{OPERATOR_PATH}/{name}")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == media_type
    assert answer.content == (ASSETS / file).read_bytes()


def test_every_file_in_the_folder_is_served_and_every_import_too() -> None:
    on_disk = {path.name for path in ASSETS.iterdir() if path.is_file()}
    served = {file for file, _ in FILES.values()}
    assert on_disk == served
    for path in ASSETS.glob("*.js"):
        for imported in IMPORT.findall(path.read_text()):
            assert imported in FILES, f"{path.name} imports {imported}, which is not served"


def test_no_asset_names_another_host() -> None:
    for path in ASSETS.iterdir():
        text = path.read_text().replace(SVG_NAMESPACE, "")
        assert not URL.findall(text), f"{path.name} names {URL.findall(text)}"


def test_the_admin_key_is_kept_in_session_storage_only() -> None:
    scripts = "\n".join(path.read_text() for path in ASSETS.glob("*.js"))
    assert "sessionStorage.setItem" in scripts
    assert "localStorage.setItem(STORAGE" not in scripts
    # the key is sent as a header; no URL the page builds carries it
    assert "Authorization: `Bearer ${savedKey()}`" in scripts
    assert not re.search(r"searchParams\.\w+\([^)]*[Kk]ey\(\)", scripts)


@pytest.mark.parametrize(
    "path",
    [
        f"{OPERATOR_PATH}/operator_routes.py",
        f"{OPERATOR_PATH}/../operator_routes.py",
        f"{OPERATOR_PATH}/%2e%2e/operator_routes.py",
        f"{OPERATOR_PATH}/missing.js",
    ],
)
def test_nothing_else_is_served(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 404


def test_a_query_does_not_choose_the_file(client: TestClient) -> None:
    answer = client.get(f"{OPERATOR_PATH}/operator.css", params={"path": "operator.html"})
    assert answer.content == (ASSETS / "operator.css").read_bytes()
