"""End-to-end fixtures: one real `openscope serve` process on the embedded model for the
whole session, and clients pointed at it."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

MODEL = "smollm2-135m-instruct"
ALIAS = "qwen-plus"
# Served by the in-tree scripted backend: tool and thinking round trips that the embedded
# model cannot do yet (its tool calling arrives with the tool-calling issue).
SCRIPTED = "scripted-echo"
CONFIG = f"""
[backends.embedded]
type = "llamacpp"

[backends.scripted]
type = "scripted"

[routes]
"{MODEL}" = "embedded"
"{SCRIPTED}" = "scripted"
"""
STARTUP_TIMEOUT = 60.0
SHUTDOWN_TIMEOUT = 10.0


@dataclass(frozen=True)
class Server:
    port: int
    api_key: str
    log_path: Path

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/compatible-mode/v1"

    @property
    def v1_url(self) -> str:
        return f"{self.root_url}/v1"

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_healthy(process: subprocess.Popen[bytes], server: Server) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    last_error = "no answer yet"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"openscope serve exited with code {process.returncode} during startup:\n"
                f"{server.log_tail()}"
            )
        try:
            response = httpx.get(f"{server.root_url}/health", timeout=2.0)
            if response.status_code == 200:
                return
            last_error = f"HTTP {response.status_code}: {response.text}"
        except httpx.HTTPError as error:
            last_error = repr(error)
        time.sleep(0.2)
    raise RuntimeError(
        f"openscope serve was not healthy within {STARTUP_TIMEOUT:.0f} s ({last_error}):\n"
        f"{server.log_tail()}"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=SHUTDOWN_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=SHUTDOWN_TIMEOUT)


GENERATED_KEY = re.compile(r"generated one for this run: (sk-\w+)")


def _generated_key(server: Server) -> str:
    found = GENERATED_KEY.search(server.log_path.read_text(errors="replace"))
    if found is None:
        pytest.fail(f"the server printed no generated key:\n{server.log_tail()}", pytrace=False)
    return found.group(1)


@contextmanager
def serving(
    workdir: Path,
    *,
    config: str = CONFIG,
    alias: str = f"{ALIAS}={MODEL}",
    api_key: str | None = None,
    env: dict[str, str] | None = None,
    log_name: str = "server.log",
    generated_key: bool = False,
) -> Iterator[Server]:
    """A real `openscope serve` on a free port with `config` and `alias`, state in
    `workdir/data`, output in `workdir/<log_name>`; stopped with SIGTERM on leaving, and
    it must exit cleanly. With `generated_key`, no key is given: the server generates one,
    read from its output (the server's `api_key`), as on a first `make serve`."""
    server = Server(
        port=_free_port(),
        api_key=api_key or f"sk-e2e-{secrets.token_hex(12)}",
        log_path=workdir / log_name,
    )
    config_path = workdir / "openscope.toml"
    config_path.write_text(config)
    command = [
        sys.executable,
        "-m",
        "openscope",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(server.port),
        *([] if generated_key else ["--api-key", server.api_key]),
        "--data-dir",
        str(workdir / "data"),
        "--config",
        str(config_path),
        "--alias",
        alias,
    ]
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OPENSCOPE_")}
    with server.log_path.open("wb") as log:
        # cwd: the work directory, so nothing but the config and flags configure it
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            env={**clean, **(env or {})},
        )
    try:
        try:
            _wait_healthy(process, server)
        except RuntimeError as error:
            print(error, file=sys.stderr)
            pytest.fail(str(error), pytrace=False)
        if generated_key:
            server = replace(server, api_key=_generated_key(server))
        yield server
    finally:
        _stop(process)
    assert process.returncode in (0, -signal.SIGTERM), server.log_tail()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The session's server: qwen-plus aliased to the embedded model and `scripted-echo`
    routed to the scripted backend."""
    with serving(tmp_path_factory.mktemp("openscope-e2e")) as running:
        yield running


def openai_sdk(server: Server, base_url: str | None = None) -> openai.OpenAI:
    """The official OpenAI SDK on `server` (Model Studio's base URL unless told), with its
    key and no retries: a test sees every answer as it came."""
    return openai.OpenAI(
        base_url=base_url or server.base_url, api_key=server.api_key, max_retries=0, timeout=60.0
    )


def anthropic_sdk(server: Server) -> anthropic.Anthropic:
    """The official anthropic SDK on `server`'s Anthropic base URL, `<host>/apps/anthropic`."""
    return anthropic.Anthropic(
        base_url=f"{server.root_url}/apps/anthropic",
        api_key=server.api_key,
        max_retries=0,
        timeout=60.0,
    )


@pytest.fixture(scope="session")
def client(server: Server) -> Iterator[openai.OpenAI]:
    """The official OpenAI SDK on the Model Studio base URL."""
    with openai_sdk(server) as sdk:
        yield sdk


@pytest.fixture(scope="session")
def v1_client(server: Server) -> Iterator[openai.OpenAI]:
    """The official OpenAI SDK on the generic `/v1` base URL."""
    with openai_sdk(server, server.v1_url) as sdk:
        yield sdk


@pytest.fixture(scope="session")
def claude(server: Server) -> Iterator[anthropic.Anthropic]:
    """The official anthropic SDK on Model Studio's Anthropic base URL."""
    with anthropic_sdk(server) as sdk:
        yield sdk


def raw_client(server: Server) -> httpx.Client:
    """A raw HTTP client on `server`'s root, carrying its API key."""
    return httpx.Client(
        base_url=server.root_url,
        headers={"Authorization": f"Bearer {server.api_key}"},
        timeout=60.0,
    )


@pytest.fixture(scope="session")
def http(server: Server) -> Iterator[httpx.Client]:
    with raw_client(server) as raw:
        yield raw


# The browser tests' shared fixtures: Debian's chromium driven by Playwright (no browser
# download; `.ci/run` installs chromium), and the folder screenshots are saved in.
CHROMIUM = shutil.which("chromium")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless chromium for the module's tests; skips without playwright or chromium."""
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="the Python package playwright is not installed"
    )
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        # root in CI containers: chromium's sandbox needs user namespaces it may not have
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`$OPENSCOPE_SCREENSHOTS` (CI keeps it as an artifact), else a temporary folder."""
    where = os.environ.get("OPENSCOPE_SCREENSHOTS")
    folder = Path(where) if where else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
