"""The `openscope` command."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from openscope import __version__
from openscope.cli.admin import (
    ADMIN_COMMANDS,
    add_admin_commands,
    admin_url,
    common_admin_options,
    run_admin,
)
from openscope.core.ids import api_key
from openscope.settings import Settings, SettingsError, load_settings


def _alias(value: str) -> tuple[str, str]:
    name, sep, target = value.partition("=")
    if not sep or not name or not target:
        raise argparse.ArgumentTypeError(f"expected NAME=SERVED_MODEL, got {value!r}")
    return name.strip(), target.strip()


def _upstream(value: str) -> tuple[str, dict[str, str]]:
    """NAME=URL[,option=value...]: a served model NAME on an OpenAI-compatible upstream."""
    name, sep, rest = value.partition("=")
    url, *pairs = rest.split(",")
    if not sep or not name.strip() or not url.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=URL[,dialect=vllm,...], got {value!r}")
    options = {"url": url.strip()}
    for pair in pairs:
        key, eq, option = pair.partition("=")
        if not eq or not key.strip():
            raise argparse.ArgumentTypeError(f"expected option=value after the URL, got {pair!r}")
        options[key.strip()] = option.strip()
    return name.strip(), options


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="openscope", description="Model Studio's model APIs over models you host."
    )
    parser.add_argument("--version", action="version", version=f"openscope {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="start the server")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 8000)")
    serve.add_argument("--config", type=Path, help="TOML settings file (openscope.toml)")
    serve.add_argument("--api-key", help="the API key clients must send (or OPENSCOPE_API_KEY)")
    serve.add_argument("--data-dir", type=Path, help="where state lives (or OPENSCOPE_DATA_DIR)")
    serve.add_argument(
        "--alias",
        type=_alias,
        action="append",
        default=[],
        metavar="NAME=MODEL",
        help="serve catalogue model NAME with served MODEL, e.g. qwen-plus=smollm2-135m-instruct",
    )
    serve.add_argument(
        "--upstream",
        type=_upstream,
        action="append",
        default=[],
        metavar="NAME=URL[,dialect=vllm,model=...]",
        help="serve model NAME from an OpenAI-compatible engine at URL (its /v1 base); "
        "model= is the engine's name for it (default NAME), other options as in the TOML",
    )
    serve.add_argument("--log-level", help="debug, info, warning or error (default info)")
    serve.add_argument("--log-format", choices=("text", "json"), help="text (default) or json")
    common = common_admin_options()
    common.add_argument("--config", type=Path, help="TOML settings file (openscope.toml)")
    common.add_argument("--data-dir", type=Path, help="where state lives (or OPENSCOPE_DATA_DIR)")
    add_admin_commands(commands, common)
    return parser


def settings_from_args(args: argparse.Namespace) -> Settings:
    config = args.config
    if config is None and Path("openscope.toml").is_file():
        config = Path("openscope.toml")
    if args.command != "serve":
        return load_settings(config, env=os.environ, overrides={"data_dir": args.data_dir})
    overrides = {
        "host": args.host,
        "port": args.port,
        "api_key": args.api_key,
        "data_dir": args.data_dir,
        "log_level": args.log_level,
        "log_format": args.log_format,
        "aliases": dict(args.alias) or None,
        **_upstream_settings(args.upstream),
    }
    return load_settings(config, env=os.environ, overrides=overrides)


def _upstream_settings(upstreams: list[tuple[str, dict[str, str]]]) -> dict[str, object]:
    """Each --upstream as a backend instance of its own and the route to it."""
    if not upstreams:
        return {}
    backends: dict[str, object] = {}
    routes: dict[str, object] = {}
    for name, options in upstreams:
        model = options.pop("model", name)
        backends[name] = {"type": "openai_upstream", **options}
        routes[name] = {"backend": name, "model": model}
    return {"backends": backends, "routes": routes}


def _settings_failed(error: SettingsError) -> int:
    print(f"openscope: {error}", file=sys.stderr)
    return 2


def configure_logging(settings: Settings) -> None:
    if settings.log_format == "json":
        from openscope.server.observability import JsonFormatter

        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        logging.basicConfig(level=settings.log_level.upper(), handlers=[handler], force=True)
    else:
        logging.basicConfig(
            level=settings.log_level.upper(),
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
            force=True,
        )


def _loopback_only(host: str) -> bool:
    """Whether listening on `host` takes connections from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: it may resolve to any address


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def serve(settings: Settings) -> int:
    import uvicorn

    from openscope.server import create_app

    configure_logging(settings)
    shared_key = None
    if not settings.api_keys:
        key = api_key()
        settings = settings.model_copy(update={"api_keys": [key]})
        print(f"openscope: no API key configured; generated one for this run: {key}", flush=True)
        if settings.console.share_generated_key and _loopback_only(settings.host):
            shared_key = key
            print(
                f"openscope: the playground at http://{_url_host(settings.host)}:{settings.port}/ "
                "uses this key in a browser on this machine",
                flush=True,
            )
    try:
        app = create_app(settings, generated_key=shared_key)
    except SettingsError as error:  # a backend's type or options, checked as it is built
        return _settings_failed(error)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=5,
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command in ADMIN_COMMANDS and admin_url(args):
        return run_admin(args, None)  # a running server's admin API: no settings of ours
    try:
        settings = settings_from_args(args)
    except SettingsError as error:
        return _settings_failed(error)
    if args.command == "serve":
        return serve(settings)
    if args.command in ADMIN_COMMANDS:
        return run_admin(args, settings)
    return 2
