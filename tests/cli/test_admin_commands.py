"""`openscope keys|workspaces|limits|usage` on a local database, as the README shows them:
what they print, and that what they make works on a server over the same data dir."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from openscope.backends.scripted import ScriptedBackend
from openscope.cli import main
from openscope.server import create_app
from openscope.settings import Settings


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
