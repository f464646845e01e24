"""The console's page and assets: served from the package with the right types and
headers, self-contained (no other host), and claiming no path of the APIs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from openscope.console.routes import ASSETS_PREFIX, static_dir
from tests.conftest import AppFactory

STATIC = static_dir()
ASSETS = sorted(p for p in STATIC.iterdir() if p.is_file())
TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}
# Any absolute or protocol-relative URL: the console talks to the server it came from.
EXTERNAL = re.compile(r"https?://|(?:src|href)\s*=\s*[\"']//|url\(\s*[\"']?//|@import", re.I)
IMPORT = re.compile(r"""(?:^|\s)(?:import|export)\s[^;]*?from\s+["']([^"']+)["']""", re.M)
PAGE_REF = re.compile(r"""(?:src|href)="(/console/[^"]+)\"""")

OPERATOR_PAGE = "/console/operator/"


@pytest.fixture
def client(scripted_client: AppFactory) -> TestClient:
    return scripted_client()


def test_the_assets_are_only_html_javascript_and_css() -> None:
    assert {p.suffix for p in ASSETS} <= set(TYPES)
    assert "index.html" in {p.name for p in ASSETS}


def test_the_page_is_served_at_the_root_with_its_security_headers(client: TestClient) -> None:
    response = client.get("/", headers={"Authorization": ""})  # no key needed for the page
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "connect-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.text == (STATIC / "index.html").read_text()


@pytest.mark.parametrize("asset", [p.name for p in ASSETS if p.suffix != ".html"])
def test_each_asset_is_served_with_its_type(client: TestClient, asset: str) -> None:
    response = client.get(f"{ASSETS_PREFIX}/{asset}", headers={"Authorization": ""})
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == TYPES[Path(asset).suffix]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.content == (STATIC / asset).read_bytes()


@pytest.mark.parametrize("asset", [p.name for p in ASSETS])
def test_no_asset_refers_to_another_host(asset: str) -> None:
    text = (STATIC / asset).read_text()
    found = EXTERNAL.search(text)
    assert found is None, f"{asset}: {text[max(0, found.start() - 40) : found.end() + 40]!r}"


def test_every_reference_of_the_page_and_every_import_is_served(client: TestClient) -> None:
    page = (STATIC / "index.html").read_text()
    wanted = set(PAGE_REF.findall(page))
    assert {"/console/app.js", "/console/console.css"} <= wanted
    seen: set[str] = set()
    while wanted - seen:
        url = sorted(wanted - seen)[0]
        seen.add(url)
        response = client.get(url, headers={"Authorization": ""})
        assert response.status_code == 200, url
        if url.endswith(".js"):
            for target in IMPORT.findall(response.text):
                assert target.startswith("./"), f"{url} imports {target}: not a sibling module"
                wanted.add(f"{ASSETS_PREFIX}/{target[2:]}")
    served = {f"{ASSETS_PREFIX}/{p.name}" for p in ASSETS if p.suffix != ".html"}
    # the nav's link to the operator view, a page of its own (served: checked above)
    assert seen - served == {OPERATOR_PAGE}, "a used asset is missing"
    assert served <= seen, "an asset is unused"


def test_the_key_is_kept_in_session_storage_and_never_in_local_storage() -> None:
    scripts = {p.name: p.read_text() for p in ASSETS if p.suffix == ".js"}
    assert "sessionStorage" in scripts["app.js"]
    keeps_local = {name for name, text in scripts.items() if "localStorage" in text}
    assert keeps_local == {"theme.js"}, "only the theme is kept across sessions"
    assert "location.search" not in "".join(scripts.values())
    assert "URLSearchParams" not in "".join(scripts.values())


def test_the_console_claims_no_api_path(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    models = client.get("/compatible-mode/v1/models")
    assert models.status_code == 200 and models.json()["object"] == "list"
    # An unknown path still answers in its API's shape, not with a static-file 404.
    unknown = client.post("/compatible-mode/v1/nothing", json={})
    assert unknown.status_code == 404
    assert "is not served here" in unknown.json()["error"]["message"]
    anthropic = client.get("/apps/anthropic/v1/nothing")
    assert anthropic.status_code == 404 and anthropic.json()["type"] == "error"
    assert client.post("/", json={}).status_code == 405


@pytest.mark.parametrize(
    "path",
    [
        f"{ASSETS_PREFIX}/missing.js",
        f"{ASSETS_PREFIX}/../routes.py",
        f"{ASSETS_PREFIX}/%2e%2e/routes.py",
    ],
)
def test_nothing_but_the_assets_is_served_under_the_prefix(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert "def console_routes" not in response.text
