"""`openscope keys|workspaces|limits|usage` on a local database, as the README shows them:
what they print, and that what they make works on a server over the same data dir."""

from __future__ import annotations

import asyncio
import functools
import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from openscope.backends.scripted import ScriptedBackend
from openscope.cli import main
from openscope.core.accounts import ApiKey, Scope
from openscope.core.billing import UsageRecord
from openscope.server import create_app
from openscope.settings import Settings
from openscope.store import open_store, sqlite_url


def run(capsys: pytest.CaptureFixture[str], data: Path, *args: str) -> str:
    capsys.readouterr()
    assert main([*args, "--data-dir", str(data)]) == 0, capsys.readouterr().err
    return capsys.readouterr().out


def test_the_readme_steps(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for var in ("OPENSCOPE_ADMIN_URL", "OPENSCOPE_ADMIN_KEY", "OPENSCOPE_DATABASE_URL"):
        monkeypatch.delenv(var, raising=False)
    data = tmp_path / "data"
    out = run(capsys, data, "workspaces", "create", "team-a", "--model", "qwen-plus")
    assert out.strip() == "created workspace team-a"
    out = run(
        capsys, data, "keys", "create", "--name", "ci", "--workspace", "team-a", "--rpm", "60"
    )
    key = re.search(r"key: (sk-\w+)", out)
    assert key is not None and "only time" in out
    key_id = re.search(r"created (key-\w+)", out)
    assert key_id is not None
    out = run(
        capsys, data, "limits", "--workspace", "team-a", "--model", "qwen-plus", "--rpm", "300"
    )
    assert "300" in out
    listed = run(capsys, data, "keys", "list", "--workspace", "team-a")
    assert key_id[1] in listed and key[1] not in listed

    settings = Settings.model_validate(
        {
            "data_dir": str(data),
            "backends": {"scripted": {"type": "scripted"}},
            "routes": {"smollm2-135m-instruct": "scripted"},
            "aliases": {"qwen-plus": "smollm2-135m-instruct"},
        }
    )
    app = create_app(settings, backends={"scripted": ScriptedBackend()})
    body = {"model": "qwen-plus", "messages": [{"role": "user", "content": "hi"}]}
    with TestClient(app, headers={"Authorization": f"Bearer {key[1]}"}) as client:
        answer = client.post("/compatible-mode/v1/chat/completions", json=body)
        assert answer.status_code == 200
        assert answer.headers["x-ratelimit-limit-requests"] == "60"
        other = {**body, "model": "smollm2-135m-instruct"}
        assert client.post("/compatible-mode/v1/chat/completions", json=other).status_code == 403

    usage = json.loads(run(capsys, data, "usage", "--by", "model", "--json"))
    (result,) = [r for b in usage["data"] for r in b["results"]]
    assert (result["model"], result["num_model_requests"]) == ("qwen-plus", 1)
    table = run(capsys, data, "usage", "--by", "model")
    assert "qwen-plus" in table
    assert run(capsys, data, "keys", "revoke", key_id[1]).strip() == f"revoked {key_id[1]}"


def test_a_refusal_is_printed_and_fails(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code = main(
        ["keys", "create", "--name", "x", "--workspace", "nope", "--data-dir", str(tmp_path)]
    )
    assert code == 1
    assert "404" in capsys.readouterr().err


# -- whole results: usage over a long window, and every key, page after page ---------------

DAY = 86_400
ADMIN_KEY = "sk-admin-cli"


def seed(data: Path, now: float, *, keys: int = 0, refused: int = 0) -> None:
    """Usage 80 days ago, 40 days ago and an hour ago, `refused` requests refused by a rate
    limit a minute ago, and `keys` keys, in the data dir."""

    async def write() -> None:
        store = await open_store(sqlite_url(data))
        try:
            for n in range(refused):
                record = UsageRecord(
                    request_id=f"req-refused-{n}",
                    created_at_ms=int((now - 60) * 1000),
                    workspace="default",
                    key_id="key-cli",
                    model="model-recent",
                    api="chat",
                    status="limit_requests",
                )
                assert await store.record_usage(record)
            for name, ago in (("old", 80 * DAY), ("middle", 40 * DAY), ("recent", 3600)):
                record = UsageRecord(
                    request_id=f"req-{name}",
                    created_at_ms=int((now - ago) * 1000),
                    workspace="default",
                    key_id="key-cli",
                    model=f"model-{name}",
                    api="chat",
                    status="ok",
                    input_tokens=7,
                )
                assert await store.record_usage(record)
            for i in range(keys):
                key = ApiKey(
                    id=f"key-{i:04d}",
                    name=f"k{i}",
                    workspace="default",
                    redacted="sk-...",
                    created_at=1,
                )
                await store.create_key(key, f"digest-{i}")
        finally:
            await store.close()

    asyncio.run(write())


def day_of(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d")


class ThroughTestClient(httpx.AsyncBaseTransport):
    """`--admin-url` requests, answered by a server app in this process."""

    def __init__(self, client: TestClient) -> None:
        self._client = client

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        answer = self._client.request(
            request.method, str(request.url), headers=dict(request.headers), content=request.content
        )
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)


@pytest.fixture(params=["local", "remote"])
def mode(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[list[str]]:
    """The extra arguments of a command run on the data dir itself, or through a server."""
    monkeypatch.chdir(tmp_path)
    for var in ("OPENSCOPE_ADMIN_URL", "OPENSCOPE_ADMIN_KEY", "OPENSCOPE_DATABASE_URL"):
        monkeypatch.delenv(var, raising=False)
    if request.param == "local":
        yield []
        return
    settings = Settings.model_validate(
        {
            "data_dir": str(tmp_path / "data"),
            "platform": {"admin_keys": [ADMIN_KEY]},
            "backends": {"scripted": {"type": "scripted"}},
            "routes": {"smollm2-135m-instruct": "scripted"},
        }
    )
    app = create_app(settings, backends={"scripted": ScriptedBackend()})
    with TestClient(app) as server:
        transport = ThroughTestClient(server)
        monkeypatch.setattr(
            httpx, "AsyncClient", functools.partial(httpx.AsyncClient, transport=transport)
        )
        yield ["--admin-url", "http://testserver", "--admin-key", ADMIN_KEY]


def test_usage_since_90_days_by_day_shows_every_day(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, mode: list[str]
) -> None:
    data = tmp_path / "data"
    now = time.time()
    seed(data, now)
    usage = json.loads(run(capsys, data, "usage", "--since", "90d", "--by", "day", "--json", *mode))
    starts = [bucket["start_time"] for bucket in usage["data"]]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    assert day_of(starts[0]) == day_of(now - 90 * DAY)
    assert day_of(starts[-1]) == day_of(now)  # the window reaches today: every page was read
    assert len(starts) == 91  # day_of(now - 90 d) .. day_of(now), both ends included
    assert usage["has_more"] is False
    requests = {
        day_of(b["start_time"]): b["results"][0]["num_model_requests"]
        for b in usage["data"]
        if b["results"]
    }
    assert requests == {day_of(now - ago): 1 for ago in (80 * DAY, 40 * DAY, 3600)}

    table = run(capsys, data, "usage", "--since", "90d", "--by", "day", *mode)
    lines = table.splitlines()
    assert lines[0].split()[:2] == ["DAY", "REQUESTS"]  # no empty group column
    assert [line.split()[0] for line in lines[1:]] == sorted(requests)


def test_usage_since_a_date_by_model_reaches_today(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, mode: list[str]
) -> None:
    data = tmp_path / "data"
    now = time.time()
    seed(data, now)
    since = day_of(now - 85 * DAY)
    table = run(capsys, data, "usage", "--since", since, "--by", "model", *mode)
    for name in ("old", "middle", "recent"):
        assert f"model-{name}" in table


def test_usage_by_status(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, mode: list[str]
) -> None:
    data = tmp_path / "data"
    now = time.time()
    seed(data, now, refused=2)
    table = run(capsys, data, "usage", "--since", "2d", "--by", "status", *mode)
    lines = [line.split() for line in table.splitlines()]
    assert lines[0][:3] == ["DAY", "STATUS", "REQUESTS"]
    # the refusals and the request an hour ago, on one day or two (around midnight UTC)
    counts: dict[str, int] = {}
    for line in lines[1:]:
        counts[line[1]] = counts.get(line[1], 0) + int(line[2])
    assert counts == {"limit_requests": 2, "ok": 1}


def test_keys_list_pages_through_every_key(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, mode: list[str]
) -> None:
    data = tmp_path / "data"
    seed(data, time.time(), keys=230)
    listed = json.loads(run(capsys, data, "keys", "list", "--json", *mode))
    ids = [key["id"] for key in listed["data"]]
    assert ids == [f"key-{i:04d}" for i in range(230)]
    assert listed["has_more"] is False
    assert (listed["first_id"], listed["last_id"]) == ("key-0000", "key-0229")
    table = run(capsys, data, "keys", "list", *mode)
    assert len(table.splitlines()) == 1 + 230


def test_the_scope_help_names_the_scopes_there_are(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["keys", "create", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    options = help_text[help_text.index("options:") :]
    scope_help = options[options.index("--scope") : options.index("--expires-in-days")]
    assert "state" not in scope_help
    for scope in Scope:
        assert scope.value in scope_help
    with pytest.raises(SystemExit):
        main(["keys", "create", "--name", "x", "--scope", "state"])
    assert "invalid choice: 'state'" in capsys.readouterr().err


@pytest.mark.parametrize("days", ["inf", "nan", "1e300", "-1"])
def test_an_expiry_past_any_date_is_refused_by_the_command(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, days: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(
            [
                "keys",
                "create",
                "--name",
                "x",
                "--expires-in-days",
                days,
                "--data-dir",
                str(tmp_path),
            ]
        )
    assert exited.value.code == 2
    assert "--expires-in-days" in capsys.readouterr().err


def models_of(capsys: pytest.CaptureFixture[str], data: Path, mode: list[str]) -> object:
    listed = json.loads(run(capsys, data, "workspaces", "list", "--json", *mode))
    (workspace,) = [w for w in listed["data"] if w["id"] == "team-b"]
    return workspace["models"]


def test_a_workspace_s_models_can_be_changed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, mode: list[str]
) -> None:
    data = tmp_path / "data"
    run(capsys, data, "workspaces", "create", "team-b", "--model", "qwen-plus", *mode)
    out = run(
        capsys, data, "workspaces", "update", "team-b", "--model", "qwen-max", "--model", "a", *mode
    )
    assert out.strip() == "updated workspace team-b (team-b): a, qwen-max"
    assert models_of(capsys, data, mode) == ["a", "qwen-max"]
    out = run(capsys, data, "workspaces", "update", "team-b", "--name", "Team B", *mode)
    assert out.strip() == "updated workspace team-b (Team B): a, qwen-max"  # models kept
    out = run(capsys, data, "workspaces", "update", "team-b", "--no-models", *mode)
    assert out.strip().endswith(": no model")
    assert models_of(capsys, data, mode) == []
    out = run(capsys, data, "workspaces", "update", "team-b", "--all-models", *mode)
    assert out.strip().endswith(": every model")
    assert models_of(capsys, data, mode) is None


def test_a_workspace_update_that_cannot_be_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, mode: list[str]
) -> None:
    data = ["--data-dir", str(tmp_path / "data"), *mode]
    assert main(["workspaces", "update", "default", "--no-models", *data]) == 1
    assert "400: The default workspace" in capsys.readouterr().err
    assert main(["workspaces", "update", "nowhere", "--name", "x", *data]) == 1
    assert "404" in capsys.readouterr().err
    assert main(["workspaces", "update", "default", *data]) == 1  # nothing to change
    assert "--name, --model" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # a list and "every model" at once
        main(["workspaces", "update", "x", "--model", "a", "--all-models", *data])


def test_the_tpd_help_says_a_utc_day(capsys: pytest.CaptureFixture[str]) -> None:
    for command in (["keys", "create"], ["limits"]):
        with pytest.raises(SystemExit):
            main([*command, "--help"])
        help_text = " ".join(capsys.readouterr().out.split())
        options = help_text[help_text.index("options:") :]
        tpd = options[options.index("--tpd TPD") :]
        assert tpd.startswith("--tpd TPD a budget of tokens per UTC day, reset at midnight UTC")
        assert "rolling" not in help_text
