"""`openscope keys|workspaces|limits|usage`: the admin API from the command line.

Every command is a request to the admin API (`/admin/v1`): against a running server with
`--admin-url` (and `--admin-key`, or OPENSCOPE_ADMIN_URL / OPENSCOPE_ADMIN_KEY), or, without
one, against the database the settings name, through the same routes run in this process
(whoever can open the database is its admin already). A listing is shown whole: its pages
are read to the end (every key; usage up to now)."""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx
from fastapi import Request

from openscope.core.accounts import DEFAULT_SCOPES, Scope
from openscope.core.principal import Principal
from openscope.settings import Settings

ADMIN_COMMANDS = ("keys", "workspaces", "limits", "usage")
# `openscope usage --by X`: the admin API's group_by for X, also the result's field it
# fills (by day, the day is the only group)
USAGE_GROUPS = {
    "key": "api_key_id",
    "model": "model",
    "workspace": "workspace_id",
    "status": "status",
}
LIMIT_FLAGS = ("rpm", "tpm", "rps", "tps", "max_concurrent", "tpd")
MAX_EXPIRY_DAYS = 100 * 366  # a key for longer is a key that never expires: leave it unset
SCOPES = sorted(scope.value for scope in Scope)
SCOPE_HELP = (
    f"what the key may do (repeat): {', '.join(SCOPES)} (default: "
    f"{', '.join(sorted(DEFAULT_SCOPES))}; admin only in the default workspace)"
)


class AdminError(Exception):
    """The admin API refused a command: its status and message."""


def add_admin_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    """The admin subcommands, under `commands` (the top parser's subparsers)."""

    def limit_flags(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--rpm", type=int, help="requests per minute")
        parser.add_argument("--tpm", type=int, help="tokens (input + output) per minute")
        parser.add_argument("--rps", type=float, help="requests per second (default RPM/60)")
        parser.add_argument("--tps", type=float, help="tokens per second (default TPM/60)")
        parser.add_argument("--max-concurrent", type=int, help="requests in flight at once")
        parser.add_argument(
            "--tpd", type=int, help="a budget of tokens per UTC day, reset at midnight UTC"
        )

    keys = commands.add_parser("keys", help="create, list and revoke API keys")
    key_commands = keys.add_subparsers(dest="action", required=True)
    create = key_commands.add_parser("create", parents=[common], help="create a key")
    create.add_argument("--name", required=True)
    create.add_argument("--workspace", default="default")
    create.add_argument(
        "--model", action="append", dest="models", help="a model the key may call (repeat)"
    )
    create.add_argument(
        "--scope",
        action="append",
        dest="scopes",
        choices=SCOPES,
        metavar="SCOPE",
        help=SCOPE_HELP,
    )
    create.add_argument("--expires-in-days", type=expiry_days, help="days until the key expires")
    create.add_argument(
        "--limit-model", default="*", help="the model the limit flags apply to (default: each)"
    )
    limit_flags(create)
    listing = key_commands.add_parser("list", parents=[common], help="list keys")
    listing.add_argument("--workspace")
    revoke = key_commands.add_parser("revoke", parents=[common], help="revoke a key")
    revoke.add_argument("key_id")

    workspaces = commands.add_parser(
        "workspaces", help="create, list and change workspaces (a name, the models its keys call)"
    )
    ws_commands = workspaces.add_subparsers(dest="action", required=True)
    ws_create = ws_commands.add_parser("create", parents=[common], help="create a workspace")
    ws_create.add_argument("workspace_id")
    ws_create.add_argument("--name")
    ws_create.add_argument(
        "--model", action="append", dest="models", help="a model its keys may call (repeat)"
    )
    ws_commands.add_parser("list", parents=[common], help="list workspaces")
    ws_update = ws_commands.add_parser(
        "update", parents=[common], help="rename a workspace or change the models its keys call"
    )
    ws_update.add_argument("workspace_id")
    ws_update.add_argument("--name")
    models = ws_update.add_mutually_exclusive_group()
    models.add_argument(
        "--model",
        action="append",
        dest="models",
        help="a model its keys may call (repeat): the whole new list",
    )
    models.add_argument("--all-models", action="store_true", help="its keys may call every model")
    models.add_argument("--no-models", action="store_true", help="its keys may call no model")

    limits = commands.add_parser(
        "limits", parents=[common], help="set or delete a workspace's or a key's model limits"
    )
    owner = limits.add_mutually_exclusive_group(required=True)
    owner.add_argument("--workspace")
    owner.add_argument("--key", help="a key id")
    limits.add_argument("--model", required=True, help="a model name, or * for each model")
    limits.add_argument("--delete", action="store_true", help="remove the model's limits")
    limit_flags(limits)

    usage = commands.add_parser("usage", parents=[common], help="usage from the ledger")
    usage.add_argument("--by", choices=(*USAGE_GROUPS, "day"), default="model")
    usage.add_argument(
        "--since", default="7d", help="a date (2026-11-01) or a span back from now (24h, 7d)"
    )
    usage.add_argument("--workspace")


def common_admin_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--admin-url", help="a running server (or OPENSCOPE_ADMIN_URL)")
    common.add_argument("--admin-key", help="its admin key (or OPENSCOPE_ADMIN_KEY)")
    common.add_argument("--json", action="store_true", help="print the API's JSON")
    return common


def expiry_days(value: str) -> float:
    """`--expires-in-days`: a finite number of days from now, within a century."""
    try:
        days = float(value)
    except ValueError:
        days = math.nan
    if not 0 < days <= MAX_EXPIRY_DAYS:  # NaN fails it too
        raise argparse.ArgumentTypeError(f"expected days between 0 and {MAX_EXPIRY_DAYS}")
    return days


def since_seconds(value: str, now: float) -> int:
    span = re.fullmatch(r"(\d+)([hd])", value)
    if span:
        amount, unit = int(span[1]), span[2]
        return int(now - amount * (3600 if unit == "h" else 86400))
    try:
        day = datetime.fromisoformat(value)
    except ValueError:
        raise AdminError(f"--since: expected a date or a span like 7d, got {value!r}") from None
    if day.tzinfo is None:
        day = day.replace(tzinfo=UTC)
    return int(day.timestamp())


def _limits(args: argparse.Namespace) -> dict[str, Any]:
    return {flag: getattr(args, flag) for flag in LIMIT_FLAGS if getattr(args, flag) is not None}


def admin_request(args: argparse.Namespace, now: float) -> tuple[str, str, Any]:
    """The method, path (under /admin/v1) and body or query of a command."""
    match args.command, getattr(args, "action", None):
        case "keys", "create":
            body: dict[str, Any] = {"name": args.name, "workspace_id": args.workspace}
            if args.models:
                body["models"] = args.models
            if args.scopes:
                body["scopes"] = args.scopes
            if args.expires_in_days is not None:
                body["expires_at"] = int(now + args.expires_in_days * 86400)
            if _limits(args):
                body["limits"] = {args.limit_model: _limits(args)}
            return "POST", "/keys", body
        case "keys", "list":
            query = {"limit": 100, **({"workspace_id": args.workspace} if args.workspace else {})}
            return "GET", "/keys", query
        case "keys", "revoke":
            return "DELETE", f"/keys/{quote(args.key_id, safe='')}", None
        case "workspaces", "create":
            body = {"id": args.workspace_id}
            if args.name:
                body["name"] = args.name
            if args.models:
                body["models"] = args.models
            return "POST", "/workspaces", body
        case "workspaces", "list":
            return "GET", "/workspaces", None
        case "workspaces", "update":
            # the API's models: a list replaces it, null is every model, absent keeps it
            body = {}
            if args.name is not None:
                body["name"] = args.name
            if args.models:
                body["models"] = args.models
            elif args.all_models:
                body["models"] = None
            elif args.no_models:
                body["models"] = []
            if not body:
                raise AdminError(
                    "workspaces update: give --name, --model, --all-models or --no-models"
                )
            return "POST", f"/workspaces/{quote(args.workspace_id, safe='')}", body
        case "limits", _:
            limits = _limits(args)
            entry: dict[str, Any] = {"model": args.model}
            if args.delete:
                entry["operation_type"] = "DELETE"
            else:
                entry.update(
                    {
                        "request_limit": limits.get("rpm"),
                        "usage_limit": limits.get("tpm"),
                        "request_per_second_limit": limits.get("rps"),
                        "usage_per_second_limit": limits.get("tps"),
                        "concurrency_limit": limits.get("max_concurrent"),
                        "daily_usage_limit": limits.get("tpd"),
                    }
                )
                entry = {k: v for k, v in entry.items() if v is not None}
            owner = {"key_id": args.key} if args.key else {"workspace_id": args.workspace}
            return "POST", "/models/limits", {**owner, "models": [entry]}
        case "usage", _:
            group = USAGE_GROUPS.get(args.by)
            query = {
                "start_time": since_seconds(args.since, now),
                "end_time": int(now) + 1,  # up to now: the pages run out there
                "bucket_width": "1d",
                "limit": 31,
                **({"group_by": group} if group else {}),
                **({"workspace_ids": args.workspace} if args.workspace else {}),
            }
            return "GET", "/usage", query
    raise AdminError(f"unknown command {args.command}")


def admin_url(args: argparse.Namespace) -> str | None:
    """The running server the command is for, if any."""
    url: str | None = args.admin_url or os.environ.get("OPENSCOPE_ADMIN_URL")
    return url


@asynccontextmanager
async def admin_client(
    args: argparse.Namespace, settings: Settings | None
) -> AsyncIterator[httpx.AsyncClient]:
    url = admin_url(args)
    if url:
        key = args.admin_key or os.environ.get("OPENSCOPE_ADMIN_KEY")
        if not key:
            raise AdminError("--admin-url needs --admin-key (or OPENSCOPE_ADMIN_KEY)")
        async with httpx.AsyncClient(
            base_url=url.rstrip("/"), headers={"authorization": f"Bearer {key}"}, timeout=30
        ) as client:
            yield client
        return
    assert settings is not None  # a local command: main() loaded them
    async with local_admin(settings) as client:
        yield client


async def local_operator(request: Request) -> Principal:
    """The caller of a local command: whoever can open the database."""
    principal = Principal("local-operator")
    request.state.principal = principal
    return principal


@asynccontextmanager
async def local_admin(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The admin routes in this process, over the settings' database."""
    from fastapi import FastAPI

    from openscope.server.admin import AdminService, admin_router
    from openscope.server.platform import build_key_directory
    from openscope.store import open_store, sqlite_url

    store = await open_store(settings.database_url or sqlite_url(settings.data_dir))
    directory = build_key_directory(settings, store)

    app = FastAPI()
    app.include_router(admin_router(AdminService(store, directory), local_operator))
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://local") as client:
            yield client
    finally:
        await store.close()


def next_page(path: str, query: dict[str, Any], body: Any) -> dict[str, Any] | None:
    """The query of the page after `body`, if there is one: usage pages go on from their
    `next_page`, key lists after their `last_id`."""
    if not body.get("has_more"):
        return None
    cursor_field, cursor = {
        "/usage": ("page", body.get("next_page")),
        "/keys": ("after", body.get("last_id")),
    }.get(path, ("", None))
    if not cursor:
        return None
    if query.get(cursor_field) == cursor:
        raise AdminError(f"the server answered the page after {cursor!r} with itself")
    return {**query, cursor_field: cursor}


def joined(pages: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Pages as one: every page's data, and the last page's word on what is left."""
    whole = {**pages[-1], "data": [item for page in pages for item in page["data"]]}
    if "first_id" in whole:
        whole["first_id"] = pages[0]["first_id"]
    return whole


async def _call(client: httpx.AsyncClient, method: str, path: str, payload: Any) -> Any:
    if method == "GET":
        response = await client.get(f"/admin/v1{path}", params=payload)
    elif method == "DELETE":
        response = await client.delete(f"/admin/v1{path}")
    else:
        response = await client.post(f"/admin/v1{path}", json=payload)
    body = response.json()
    if response.status_code >= 400:
        error = body.get("error", body) if isinstance(body, dict) else body
        message = error.get("message", body) if isinstance(error, dict) else error
        raise AdminError(f"{response.status_code}: {message}")
    return body


async def _run(args: argparse.Namespace, settings: Settings | None) -> Any:
    """The command's answer, whole: a listing is read page after page to its end."""
    method, path, payload = admin_request(args, time.time())
    async with admin_client(args, settings) as client:
        body = await _call(client, method, path, payload)
        if method != "GET" or not isinstance(body, dict):
            return body
        pages = [body]
        query = next_page(path, payload, body)
        while query is not None:
            pages.append(await _call(client, method, path, query))
            query = next_page(path, query, pages[-1])
    return body if len(pages) == 1 else joined(pages)


def _table(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> str:
    cells = [list(map(str, header)), *[["" if c is None else str(c) for c in r] for r in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    )


def _when(seconds: int | None) -> str:
    if seconds is None:
        return ""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M")


def render(args: argparse.Namespace, body: Any) -> str:
    if args.json:
        return json.dumps(body, indent=2)
    rows: list[tuple[Any, ...]]
    match args.command, getattr(args, "action", None):
        case "keys", "create":
            return (
                f"created {body['id']} ({body['name']}) in workspace {body['workspace_id']}\n"
                f"key: {body['value']}\n"
                "This is the only time the key is shown: keep it now."
            )
        case "keys", "list":
            rows = [
                (
                    k["id"],
                    k["name"],
                    k["workspace_id"],
                    k["redacted_value"],
                    "revoked" if k["revoked_at"] else "active",
                    _when(k["last_used_at"]),
                )
                for k in body["data"]
            ]
            return _table(rows, ("ID", "NAME", "WORKSPACE", "KEY", "STATE", "LAST USED"))
        case "keys", "revoke":
            return f"revoked {body['id']}"
        case "workspaces", "create":
            return f"created workspace {body['id']}"
        case "workspaces", "update":
            models = "every model" if body["models"] is None else ", ".join(body["models"])
            return f"updated workspace {body['id']} ({body['name']}): {models or 'no model'}"
        case "workspaces", "list":
            rows = [
                (
                    w["id"],
                    w["name"],
                    "all" if w["models"] is None else ",".join(w["models"]),
                    json.dumps(w["limits"]) if w["limits"] else "",
                )
                for w in body["data"]
            ]
            return _table(rows, ("ID", "NAME", "MODELS", "LIMITS"))
        case "limits", _:
            rows = [
                (
                    q["model"],
                    q["model_limit"]["request_limit"],
                    q["model_limit"]["usage_limit"],
                    q["model_limit"]["concurrency_limit"],
                )
                for q in body["output"]["quotas"]
            ]
            return _table(rows, ("MODEL", "RPM", "TPM", "MAX CONCURRENT"))
        case "usage", _:
            grouped = args.by in USAGE_GROUPS
            rows = []
            for bucket in body["data"]:
                day = datetime.fromtimestamp(bucket["start_time"], UTC).strftime("%Y-%m-%d")
                for r in bucket["results"]:
                    rows.append(
                        (
                            day,
                            *((r.get(USAGE_GROUPS[args.by]) or "",) if grouped else ()),
                            r["num_model_requests"],
                            r["input_tokens"],
                            r["input_cached_tokens"],
                            r["output_tokens"],
                            f"{r['cost']:.6f}",
                        )
                    )
            header = ("DAY", *((args.by.upper(),) if grouped else ()), "REQUESTS", "INPUT")
            return _table(rows, (*header, "CACHED", "OUTPUT", "COST"))
    return json.dumps(body, indent=2)


def run_admin(args: argparse.Namespace, settings: Settings | None) -> int:
    try:
        body = asyncio.run(_run(args, settings))
    except (AdminError, httpx.HTTPError) as error:
        print(f"openscope: {error}", file=sys.stderr)
        return 1
    print(render(args, body))
    return 0
