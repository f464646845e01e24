"""The platform across replicas: three `openscope serve` processes on one database and one
real redis-server. A workspace and a key made with the CLI work on every replica, the key's
60 RPM lets 60 calls through in all (not 60 per replica), a revocation reaches every replica
within the auth cache's TTL, and the usage the CLI reports is what the clients saw."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Server, serving
from tests.redis_server import NEEDS_REDIS, REDIS_SERVER, RedisServer

MODEL = "scripted-echo"
CONFIG = f"""
[backends.scripted]
type = "scripted"

[routes]
"{MODEL}" = "scripted"

[platform]
implied_per_second = false
replicas = 3
"""
REPLICAS = 3

pytestmark = pytest.mark.skipif(REDIS_SERVER is None, reason=NEEDS_REDIS)


@pytest.fixture(scope="module")
def platform(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[list[Server], dict[str, str]]]:
    root = tmp_path_factory.mktemp("platform")
    redis_server = RedisServer(root)
    redis_server.start()
    env = {
        "OPENSCOPE_DATABASE_URL": f"sqlite+aiosqlite:///{root / 'shared.db'}",
        "OPENSCOPE_REDIS_URL": f"redis://127.0.0.1:{redis_server.port}/0",
        "OPENSCOPE_KEY_PEPPER": secrets.token_urlsafe(24),
        "OPENSCOPE_ADMIN_KEY": f"sk-admin-{secrets.token_hex(8)}",
    }
    try:
        with ExitStack() as stack:
            servers = []
            for n in range(REPLICAS):
                workdir = root / f"replica-{n}"
                workdir.mkdir()
                servers.append(
                    stack.enter_context(
                        serving(workdir, config=CONFIG, alias=f"qwen-plus={MODEL}", env=env)
                    )
                )
            yield servers, env
    finally:
        redis_server.stop()


def cli(env: dict[str, str], *args: str, cwd: Path | None = None) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OPENSCOPE_")}
    done = subprocess.run(
        [sys.executable, "-m", "openscope", *args],
        capture_output=True,
        text=True,
        env={**clean, **env},
        cwd=cwd,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def remote_of(servers: list[Server], env: dict[str, str]) -> list[str]:
    return ["--admin-url", servers[0].root_url, "--admin-key", env["OPENSCOPE_ADMIN_KEY"]]


def chat(server: Server, key: str) -> httpx.Response:
    return httpx.post(
        f"{server.base_url}/chat/completions",
        json={"model": MODEL, "messages": [{"role": "user", "content": "hello there"}]},
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )


def test_one_key_one_limit_across_replicas(
    platform: tuple[list[Server], dict[str, str]], tmp_path: Path
) -> None:
    servers, env = platform
    # Local mode: the CLI, with the replicas' settings file, opens the database they share.
    (tmp_path / "openscope.toml").write_text(CONFIG)
    cli(env, "workspaces", "create", "team-a", "--model", MODEL, cwd=tmp_path)
    created = json.loads(
        cli(
            env,
            "keys",
            "create",
            "--name",
            "ci",
            "--workspace",
            "team-a",
            "--limit-model",
            MODEL,
            "--rpm",
            "60",
            "--json",
            cwd=tmp_path,
        )
    )
    key = created["value"]
    for server in servers:
        assert chat(server, key).status_code == 200  # 3 of the minute's 60

    def flood(n: int) -> int:
        return chat(servers[n % REPLICAS], key).status_code

    started = time.monotonic()
    with ThreadPoolExecutor(6) as pool:
        statuses = list(pool.map(flood, range(150)))
    elapsed = time.monotonic() - started
    passed = statuses.count(200) + REPLICAS
    assert set(statuses) <= {200, 429}
    # GCRA at 60 RPM: the minute's 60 at once, then one a second. Per-replica counting
    # would have let 180 through.
    assert 60 <= passed <= 60 + elapsed + 1, (passed, elapsed)

    refused = chat(servers[1], key)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "limit_requests"
    assert 0 < int(refused.headers["retry-after-ms"]) <= 1_000

    # The model allow-list of the workspace holds on every replica.
    denied = httpx.post(
        f"{servers[2].base_url}/chat/completions",
        json={"model": "qwen-plus", "messages": [{"role": "user", "content": "hi"}]},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert denied.status_code == 403

    # The ledger, read through the CLI, counts every call the limits answered, on whichever
    # replica it landed: the refused ones as failed, with no tokens.
    refusals = statuses.count(429) + 1
    usage = json.loads(cli(env, "usage", "--by", "key", *remote_of(servers, env), "--json"))
    by_key = {r["api_key_id"]: r for b in usage["data"] for r in b["results"]}
    deadline = time.monotonic() + 10
    while by_key.get(created["id"], {}).get("num_model_requests") != passed + refusals:
        assert time.monotonic() < deadline, by_key
        time.sleep(0.2)
        usage = json.loads(cli(env, "usage", "--by", "key", *remote_of(servers, env), "--json"))
        by_key = {r["api_key_id"]: r for b in usage["data"] for r in b["results"]}
    assert by_key[created["id"]]["num_failed_requests"] == refusals
    table = cli(env, "usage", "--by", "key", *remote_of(servers, env))
    assert created["id"] in table and "REQUESTS" in table

    # Remote mode: revoke through replica 0's admin API; every replica refuses within the
    # auth cache's TTL (1 s) and a little.
    cli(env, "keys", "revoke", created["id"], *remote_of(servers, env), cwd=tmp_path)
    time.sleep(1.5)
    for server in servers:
        assert chat(server, key).status_code == 401
