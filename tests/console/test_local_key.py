"""`GET /console/local-key`: the key `serve` generated, handed to the console's page in a
browser on this machine and to nobody else."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from openscope.console import console_routes
from openscope.console.local_key import PATH

KEY = "sk-generatedForThisRun0123456789abcdef"
PAGE = {"host": "127.0.0.1:8000", "sec-fetch-site": "same-origin"}


def app_with(generated_key: str | None) -> FastAPI:
    app = FastAPI()
    app.router.routes.extend(console_routes(generated_key=generated_key))
    return app


@pytest.fixture
def client() -> Iterator[TestClient]:
    # TestClient's peer is "testclient"; the local page's is a loopback address
    with TestClient(app_with(KEY), client=("127.0.0.1", 50000)) as client:
        yield client


def test_the_local_page_gets_the_generated_key(client: TestClient) -> None:
    answer = client.get(PATH, headers=PAGE)
    assert answer.status_code == 200
    assert answer.json() == {"key": KEY}
    assert answer.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    "headers",
    [
        {"host": "localhost:8000", "sec-fetch-site": "same-origin"},
        {"host": "[::1]:8000", "sec-fetch-site": "same-origin"},
        {**PAGE, "origin": "http://127.0.0.1:8000"},
    ],
    ids=["localhost", "ipv6-loopback", "same-origin-header"],
)
def test_every_loopback_name_of_the_page_gets_it(
    client: TestClient, headers: dict[str, str]
) -> None:
    assert client.get(PATH, headers=headers).json() == {"key": KEY}


@pytest.mark.parametrize(
    "headers",
    [
        # another site's page: the browser says so
        {**PAGE, "sec-fetch-site": "cross-site"},
        {**PAGE, "sec-fetch-site": "same-site"},
        {**PAGE, "sec-fetch-site": "none"},  # typed into the address bar, or a bookmark
        # a program that is not a browser page sends no Sec-Fetch-Site
        {"host": "127.0.0.1:8000"},
        # DNS rebinding: another site's name pointed at 127.0.0.1 arrives as its own Host
        {"host": "attacker.example:8000", "sec-fetch-site": "same-origin"},
        {"host": "127.0.0.1.attacker.example", "sec-fetch-site": "same-origin"},
        {"host": "", "sec-fetch-site": "same-origin"},
        # an Origin that is not this server
        {**PAGE, "origin": "http://attacker.example"},
        {**PAGE, "origin": "http://127.0.0.1:9999"},
        {**PAGE, "origin": "null"},
    ],
    ids=[
        "cross-site",
        "same-site",
        "no-initiator",
        "not-a-browser",
        "rebound-name",
        "lookalike-name",
        "empty-host",
        "foreign-origin",
        "other-port",
        "opaque-origin",
    ],
)
def test_anyone_else_is_refused(client: TestClient, headers: dict[str, str]) -> None:
    answer = client.get(PATH, headers=headers)
    assert answer.status_code == 403
    assert KEY not in answer.text
    assert answer.json()["error"]["code"] == "access_denied"
    assert answer.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("peer", ["192.168.1.20", "10.0.0.7", "2001:db8::1", "testclient"])
def test_a_peer_on_another_machine_is_refused(peer: str) -> None:
    with TestClient(app_with(KEY), client=(peer, 50000)) as client:
        answer = client.get(PATH, headers=PAGE)
    assert answer.status_code == 403
    assert KEY not in answer.text


def test_without_a_generated_key_there_is_no_such_route() -> None:
    with TestClient(app_with(None), client=("127.0.0.1", 50000)) as client:
        answer = client.get(PATH, headers=PAGE)
    assert answer.status_code == 404


def test_only_get_is_answered(client: TestClient) -> None:
    assert client.post(PATH, headers=PAGE).status_code == 405
