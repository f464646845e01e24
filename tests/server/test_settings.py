from pathlib import Path

import pytest

from openscope.backends.registry import BackendRegistry
from openscope.cli import _parser, main, settings_from_args
from openscope.server.app import build_backends
from openscope.settings import RouteSettings, SettingsError, load_settings

SECRET = "sk-live-0123456789abcdef"


def test_defaults_route_the_embedded_model() -> None:
    settings = load_settings()
    assert settings.host == "127.0.0.1" and settings.port == 8000
    assert settings.route_table() == {"smollm2-135m-instruct": RouteSettings(backend="embedded")}
    assert settings.backends["embedded"].type == "llamacpp"
    assert settings.data_dir == Path("data")


def test_file_then_env_then_flags(tmp_path: Path) -> None:
    config = tmp_path / "openscope.toml"
    config.write_text(
        'port = 9000\napi_keys = ["sk-file"]\n'
        '[aliases]\n"qwen-plus" = "smollm2-135m-instruct"\n'
        '[backends.embedded]\ntype = "llamacpp"\nn_ctx = 4096\n'
    )
    env = {"OPENSCOPE_API_KEY": "sk-env", "OPENSCOPE_DATA_DIR": str(tmp_path / "d")}
    overrides = {"port": 9100, "aliases": {"qwen-max": "smollm2-135m-instruct"}}
    settings = load_settings(config, env=env, overrides=overrides)
    assert settings.port == 9100
    assert settings.api_keys == ["sk-file", "sk-env"]
    assert settings.data_dir == tmp_path / "d"
    assert settings.aliases == {
        "qwen-plus": "smollm2-135m-instruct",
        "qwen-max": "smollm2-135m-instruct",
    }
    assert settings.backends["embedded"].options == {"n_ctx": 4096}


def test_bad_file_is_a_settings_error(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("port = [")
    with pytest.raises(SettingsError):
        load_settings(config)
    config.write_text("unknown_setting = 1")
    with pytest.raises(SettingsError):
        load_settings(config)


def test_cli_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OPENSCOPE_API_KEY", raising=False)
    args = _parser().parse_args(
        [
            "serve",
            "--port",
            "8123",
            "--api-key",
            "sk-x",
            "--alias",
            "qwen-plus=smollm2-135m-instruct",
        ]
    )
    settings = settings_from_args(args)
    assert settings.port == 8123
    assert settings.api_keys == ["sk-x"]
    assert settings.aliases == {"qwen-plus": "smollm2-135m-instruct"}


def test_cli_rejects_a_malformed_alias() -> None:
    with pytest.raises(SystemExit):
        _parser().parse_args(["serve", "--alias", "qwen-plus"])


@pytest.mark.parametrize(
    ("toml", "named"),
    [
        (f'api_keys = "{SECRET}"', "setting 'api_keys': Input should be a valid list"),
        (
            f'api_keys = ["sk-ok", ["{SECRET}"]]',
            "setting 'api_keys.1': Input should be a valid string",
        ),
        (f'port = "{SECRET}"', "setting 'port': Input should be a valid integer"),
        (f'[routes.m]\nbackend = "embedded"\ntoken = "{SECRET}"', "unknown setting"),
    ],
)
def test_settings_errors_never_echo_a_value(tmp_path: Path, toml: str, named: str) -> None:
    config = tmp_path / "openscope.toml"
    config.write_text(toml)
    with pytest.raises(SettingsError) as caught:
        load_settings(config)
    assert named in str(caught.value)
    assert SECRET not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def backend_error(tmp_path: Path, table: str) -> str:
    config = tmp_path / "openscope.toml"
    config.write_text(f'[backends.embedded]\ntype = "llamacpp"\n{table}\n')
    with pytest.raises(SettingsError) as caught:
        build_backends(load_settings(config), BackendRegistry.with_defaults())
    return str(caught.value)


def test_a_bad_backend_option_is_a_settings_error_naming_the_instance(tmp_path: Path) -> None:
    assert backend_error(tmp_path, "n_thread = 4") == (
        "backend 'embedded': unknown option 'n_thread'"
    )
    assert backend_error(tmp_path, "parallel = 0") == (
        "backend 'embedded': option 'parallel': Input should be greater than 0"
    )
    assert SECRET not in backend_error(tmp_path, f'n_threads = "{SECRET}"')


def test_serve_with_a_bad_backend_option_fails_cleanly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "openscope.toml"
    config.write_text('[backends.embedded]\ntype = "llamacpp"\nn_thread = 4\n')
    data = str(tmp_path / "data")
    assert main(["serve", "--config", str(config), "--api-key", "sk-x", "--data-dir", data]) == 2
    assert capsys.readouterr().err == "openscope: backend 'embedded': unknown option 'n_thread'\n"


def test_cli_upstream_is_a_backend_and_its_route(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no openscope.toml here
    args = _parser().parse_args(
        [
            "serve",
            "--upstream",
            "qwen3-8b=http://10.0.0.5:8000/v1,dialect=vllm,model=Qwen/Qwen3-8B,thinking=true",
            "--alias",
            "qwen-plus=qwen3-8b",
        ]
    )
    settings = settings_from_args(args)
    assert settings.route_table() == {
        "qwen3-8b": RouteSettings(backend="qwen3-8b", model="Qwen/Qwen3-8B")
    }
    backend = settings.backends["qwen3-8b"]
    assert backend.type == "openai_upstream"
    assert backend.options == {
        "url": "http://10.0.0.5:8000/v1",
        "dialect": "vllm",
        "thinking": "true",
    }
    built = build_backends(settings, BackendRegistry.with_defaults())
    assert built["qwen3-8b"].features("Qwen/Qwen3-8B").thinking


@pytest.mark.parametrize("value", ["qwen3-8b", "qwen3-8b=", "qwen3-8b=http://h/v1,dialect"])
def test_cli_rejects_a_malformed_upstream(value: str) -> None:
    with pytest.raises(SystemExit):
        _parser().parse_args(["serve", "--upstream", value])


def test_a_bad_upstream_option_stops_startup() -> None:
    settings = load_settings(
        overrides={"backends": {"up": {"type": "openai_upstream", "url": "ftp://x"}}}
    )
    with pytest.raises(SettingsError, match="url"):
        build_backends(settings, BackendRegistry.with_defaults())


def test_the_readme_s_five_line_upstream_file_serves_that_model(tmp_path: Path) -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    start = readme.index("in five lines:\n\n```toml\n") + len("in five lines:\n\n```toml\n")
    snippet = readme[start : readme.index("```", start)]
    assert len([line for line in snippet.splitlines() if line.strip()]) == 5
    (tmp_path / "openscope.toml").write_text(snippet)
    settings = load_settings(tmp_path / "openscope.toml")
    built = build_backends(settings, BackendRegistry.with_defaults())
    assert list(built) == ["vllm"]
    assert settings.route_table()["qwen3-8b"] == RouteSettings(
        backend="vllm", model="Qwen/Qwen3-8B"
    )


def test_a_shared_database_needs_a_pepper() -> None:
    with pytest.raises(SettingsError, match="key_pepper"):
        load_settings(env={"OPENSCOPE_DATABASE_URL": "postgresql+asyncpg://u:p@h/db"})
    shared = load_settings(
        env={"OPENSCOPE_DATABASE_URL": "postgresql+asyncpg://u:p@h/db", "OPENSCOPE_KEY_PEPPER": "x"}
    )
    assert shared.platform.key_pepper == "x"


def test_degraded_limits_need_the_replica_count() -> None:
    with pytest.raises(SettingsError, match="replicas"):
        load_settings(env={"OPENSCOPE_REDIS_URL": "redis://127.0.0.1:6379/0"})
    closed = load_settings(
        env={"OPENSCOPE_REDIS_URL": "redis://127.0.0.1:6379/0"},
        overrides={"platform": {"redis_failure": "closed"}},
    )
    assert closed.platform.redis_failure == "closed"


@pytest.mark.parametrize(
    ("line", "field", "message"),
    [
        ("rps = inf", "rps", "finite number"),
        ("tps = nan", "tps", "finite number"),
        ("tps = -inf", "tps", "finite number"),
        ("rps = 1e-300", "rps", "greater than or equal to 0.001"),
        ("tps = 1e300", "tps", "less than or equal to 1000000000000"),
        ("rpm = 10_000_000_000_000", "rpm", "less than or equal to 1000000000000"),
        ("rpm = 0", "rpm", "greater than 0"),
        ("rpm = true", "rpm", "valid integer"),  # not 1
        ("max_concurrent = 2.0", "max_concurrent", "valid integer"),
        ('tpd = "1000"', "tpd", "valid integer"),
        ("rps = true", "rps", "valid number"),
    ],
)
def test_a_limit_the_limiters_cannot_count_stops_startup(
    tmp_path: Path, line: str, field: str, message: str
) -> None:
    """The admin API's bounds (core.bounds), on the operator's [platform.limits] tables."""
    config = tmp_path / "openscope.toml"
    config.write_text(f'[platform.limits."qwen-plus"]\n{line}\n')
    with pytest.raises(SettingsError) as caught:
        load_settings(config)
    assert f"setting 'platform.limits.qwen-plus.{field}': " in str(caught.value)
    assert message in str(caught.value)
    assert main(["serve", "--config", str(config)]) == 2


def test_sane_limits_still_load(tmp_path: Path) -> None:
    config = tmp_path / "openscope.toml"
    config.write_text(
        '[platform.limits."*"]\nrpm = 60\ntpm = 1_000_000\nrps = 1\ntps = 0.001\n'
        "max_concurrent = 4\ntpd = 1_000_000_000_000\n"
    )
    limits = load_settings(config).platform.limits["*"].limits()
    assert (limits.rpm, limits.tpm, limits.rps, limits.tps) == (60, 1_000_000, 1.0, 0.001)
    assert (limits.max_concurrent, limits.tpd) == (4, 10**12)


@pytest.mark.parametrize(
    ("toml", "field"),
    [
        ("purge_interval_seconds = 0", "purge_interval_seconds"),
        ("purge_interval_seconds = -5", "purge_interval_seconds"),
        ("[platform]\nrollup_interval_seconds = inf", "platform.rollup_interval_seconds"),
        ("[platform]\nauth_cache_seconds = nan", "platform.auth_cache_seconds"),
        ("[platform]\nusage_write_seconds = -1", "platform.usage_write_seconds"),
        ("[platform]\nusage_write_seconds = inf", "platform.usage_write_seconds"),
        (
            '[platform.prices."qwen-plus"]\ninput = inf\noutput = 1',
            "platform.prices.qwen-plus.input",
        ),
    ],
)
def test_intervals_and_prices_must_be_finite_and_positive(
    tmp_path: Path, toml: str, field: str
) -> None:
    # An interval of 0 would run its chore without a pause against the database.
    config = tmp_path / "openscope.toml"
    config.write_text(toml + "\n")
    with pytest.raises(SettingsError) as caught:
        load_settings(config)
    assert f"setting '{field}'" in str(caught.value)


def test_the_ledger_writes_as_often_as_configured(tmp_path: Path) -> None:
    from openscope.server.app import create_app

    config = tmp_path / "openscope.toml"
    config.write_text("[platform]\nusage_write_seconds = 0\n")
    settings = load_settings(config, overrides={"data_dir": tmp_path / "data", "api_key": "sk-x"})
    app = create_app(settings)
    assert app.state.usage_writer._linger == 0
