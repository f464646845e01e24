"""`openscope serve`'s start: a key generated when none is configured, and handed to the
console's page only when the server listens on loopback and the setting allows it."""

from __future__ import annotations

from typing import Any

import pytest

import openscope.cli as cli
from openscope.settings import ConsoleSettings, Settings


class Started:
    """What `serve` would have built and run: create_app's arguments, uvicorn's host."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.app_args: dict[str, Any] = {}
        self.host: str | None = None
        import uvicorn

        import openscope.server as server

        def create_app(settings: Settings, **kwargs: Any) -> object:
            self.app_args = {"settings": settings, **kwargs}
            return object()

        def run(app: object, **kwargs: Any) -> None:
            self.host = kwargs["host"]

        monkeypatch.setattr(server, "create_app", create_app)
        monkeypatch.setattr(uvicorn, "run", run)
        # the root logger is the test run's: serve's own set-up would replace its handlers
        monkeypatch.setattr(cli, "configure_logging", lambda settings: None)


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> Started:
    return Started(monkeypatch)


def test_a_generated_key_is_printed_and_handed_to_the_local_console(
    started: Started, capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    assert cli.serve(Settings(data_dir=tmp_path)) == 0
    settings = started.app_args["settings"]
    [key] = settings.api_keys
    assert key.startswith("sk-")
    assert started.app_args["generated_key"] == key
    printed = capsys.readouterr().out
    assert key in printed
    assert "http://127.0.0.1:8000/" in printed


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "openscope.internal"])
def test_a_server_others_can_reach_hands_the_key_to_no_page(
    started: Started, host: str, tmp_path: Any
) -> None:
    assert cli.serve(Settings(host=host, data_dir=tmp_path)) == 0
    assert started.app_args["generated_key"] is None
    assert started.app_args["settings"].api_keys  # still generated and required


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_every_loopback_address_counts_as_local(started: Started, host: str, tmp_path: Any) -> None:
    cli.serve(Settings(host=host, data_dir=tmp_path))
    assert started.app_args["generated_key"] is not None


def test_the_setting_turns_it_off(started: Started, tmp_path: Any) -> None:
    settings = Settings(data_dir=tmp_path, console=ConsoleSettings(share_generated_key=False))
    cli.serve(settings)
    assert started.app_args["generated_key"] is None


def test_a_configured_key_is_never_handed_out(started: Started, tmp_path: Any) -> None:
    cli.serve(Settings(api_keys=["sk-configured-by-the-operator"], data_dir=tmp_path))
    assert started.app_args["generated_key"] is None
    assert started.app_args["settings"].api_keys == ["sk-configured-by-the-operator"]
