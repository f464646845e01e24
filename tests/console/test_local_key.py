"""`POST /console/local-key`: the key `serve` generated, handed to the console's page in a
browser of the server's own user on this machine, and to nobody else."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from openscope.console import console_routes
from openscope.console.local_key import PATH, SocketOwner, local_key_route, socket_owner

KEY = "sk-generatedForThisRun0123456789abcdef"
PAGE = {
    "host": "127.0.0.1:8000",
    "origin": "http://127.0.0.1:8000",
    "sec-fetch-site": "same-origin",
}


def same_user(client: tuple[str, int], server: tuple[str, int]) -> int | None:
    return os.getuid()


def app_with(generated_key: str | None, owner: SocketOwner = same_user) -> FastAPI:
    app = FastAPI()
    app.router.routes.append(local_key_route(generated_key, owner=owner))
    app.router.routes.extend(console_routes())
    return app


@pytest.fixture
def client() -> Iterator[TestClient]:
    # TestClient's peer is "testclient"; the local page's is a loopback address
    with TestClient(app_with(KEY), client=("127.0.0.1", 50000)) as client:
        yield client


def test_the_local_page_gets_the_generated_key(client: TestClient) -> None:
    answer = client.post(PATH, headers=PAGE)
    assert answer.status_code == 200
    assert answer.json() == {"key": KEY}
    assert answer.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("origin", ["localhost:8000", "[::1]:8000", "127.0.0.1", "127.0.0.2:8000"])
def test_every_loopback_name_of_the_page_gets_it(client: TestClient, origin: str) -> None:
    headers = {"host": origin, "origin": f"http://{origin}", "sec-fetch-site": "same-origin"}
    assert client.post(PATH, headers=headers).json() == {"key": KEY}


@pytest.mark.parametrize(
    "headers",
    [
        # another site's page: the browser says so, and names its origin
        {**PAGE, "sec-fetch-site": "cross-site"},
        {**PAGE, "sec-fetch-site": "same-site"},
        {**PAGE, "sec-fetch-site": "none"},
        {**PAGE, "origin": "http://attacker.example"},
        {**PAGE, "origin": "http://localhost:8000"},  # another origin on this machine
        {**PAGE, "origin": "http://127.0.0.1:9999"},
        {**PAGE, "origin": "https://127.0.0.1:8000"},
        {**PAGE, "origin": "null"},
        {"host": "127.0.0.1:8000", "sec-fetch-site": "same-origin"},  # no Origin
        {"host": "127.0.0.1:8000", "origin": "http://127.0.0.1:8000"},  # not a browser's
        # DNS rebinding: another site's name pointed at 127.0.0.1 arrives as its own Host
        {
            "host": "attacker.example:8000",
            "origin": "http://attacker.example:8000",
            "sec-fetch-site": "same-origin",
        },
        # Host values no browser sends, which a loose parser would read as loopback
        {
            **PAGE,
            "host": "evil.example@127.0.0.1:8000",
            "origin": "http://evil.example@127.0.0.1:8000",
        },
        {
            **PAGE,
            "host": "127.0.0.1.attacker.example",
            "origin": "http://127.0.0.1.attacker.example",
        },
        {**PAGE, "host": "127.0.0.1:123456", "origin": "http://127.0.0.1:123456"},
        # a reverse proxy or tunnel on this machine, passing a remote visitor on
        {**PAGE, "forwarded": "for=203.0.113.9"},
        {**PAGE, "x-forwarded-host": "openscope.example"},
        {**PAGE, "x-real-ip": "203.0.113.9"},
        {**PAGE, "via": "1.1 nginx"},
    ],
    ids=[
        "cross-site",
        "same-site",
        "no-initiator",
        "foreign-origin",
        "other-loopback-origin",
        "other-port",
        "https-origin",
        "opaque-origin",
        "no-origin",
        "no-fetch-metadata",
        "rebound-name",
        "user-info-host",
        "lookalike-host",
        "bad-port",
        "forwarded",
        "x-forwarded-host",
        "x-real-ip",
        "via",
    ],
)
def test_anyone_else_is_refused(client: TestClient, headers: dict[str, str]) -> None:
    answer = client.post(PATH, headers=headers)
    assert answer.status_code == 403
    assert KEY not in answer.text
    assert answer.json()["error"]["code"] == "access_denied"
    assert answer.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("peer", ["192.168.1.20", "10.0.0.7", "2001:db8::1", "testclient"])
def test_a_peer_on_another_machine_is_refused(peer: str) -> None:
    with TestClient(app_with(KEY), client=(peer, 50000)) as client:
        answer = client.post(PATH, headers=PAGE)
    assert answer.status_code == 403
    assert KEY not in answer.text


@pytest.mark.parametrize("uid", [os.getuid() + 1, None], ids=["another-user", "unknown"])
def test_a_socket_of_another_user_is_refused(uid: int | None) -> None:
    if not os.path.exists("/proc/net/tcp"):
        pytest.skip("the kernel's socket tables are Linux's")
    asked: list[tuple[tuple[str, int], tuple[str, int]]] = []

    def owner(client: tuple[str, int], server: tuple[str, int]) -> int | None:
        asked.append((client, server))
        return uid

    with TestClient(app_with(KEY, owner), client=("127.0.0.1", 50000)) as client:
        answer = client.post(PATH, headers=PAGE)
    assert answer.status_code == 403
    assert asked == [(("127.0.0.1", 50000), ("testserver", 80))]


@pytest.mark.parametrize("family", [socket.AF_INET, socket.AF_INET6])
def test_the_kernel_names_the_owner_of_a_real_connection(family: socket.AddressFamily) -> None:
    if not os.path.exists("/proc/net/tcp"):
        pytest.skip("the kernel's socket tables are Linux's")
    host = "127.0.0.1" if family == socket.AF_INET else "::1"
    try:
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.bind((host, 0))
    except OSError:
        pytest.skip(f"no {host} on this machine")
    with listener:
        listener.listen(1)
        server_port = listener.getsockname()[1]
        with socket.create_connection((host, server_port)) as connection:
            client_port = connection.getsockname()[1]
            assert socket_owner((host, client_port), (host, server_port)) == os.getuid()
            # a connection that does not exist has no owner
            assert socket_owner((host, client_port), (host, 1)) is None


@pytest.mark.parametrize("routes", ["own", "console"])
def test_without_a_generated_key_there_is_nothing_to_hand(routes: str) -> None:
    app = app_with(None) if routes == "own" else FastAPI(routes=console_routes())
    with TestClient(app, client=("127.0.0.1", 50000)) as client:
        answer = client.post(PATH, headers=PAGE)
    assert answer.status_code == 204
    assert answer.content == b""


def test_only_post_is_answered(client: TestClient) -> None:
    answer = client.get(PATH, headers=PAGE)  # the static mount's 404: no such asset
    assert answer.status_code == 404
    assert KEY not in answer.text
