"""The console's routes: its page at `/` and its assets under `/console/`. Only these two
paths are claimed, so every other path keeps its own route or the API-shaped 404."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from openscope.console.local_key import local_key_route

ASSETS_PREFIX = "/console"

# The page talks to this server only: a script or style from anywhere else, or an inline
# one, is refused by the browser, so an injected string cannot run and no asset can leak
# the key to another host.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
# Assets change with the installed version and are few and small: revalidate each load
# rather than serve a stale script against a newer server.
CACHE_CONTROL = "no-cache"


def static_dir() -> Path:
    """The directory of the assets inside the installed package."""
    return Path(str(files("openscope.console") / "static"))


def console_routes(*, generated_key: str | None = None) -> list[BaseRoute]:
    """The page at `/` and a static mount for its assets, to add to an app's routes; with
    the route that hands `generated_key` to the page (`local_key.py`), which answers 204
    when there is none to hand (so the page's ask is never an error in its console)."""
    root = static_dir()

    async def page(request: Request) -> Response:
        return FileResponse(
            root / "index.html",
            media_type="text/html; charset=utf-8",
            headers={
                "Content-Security-Policy": CONTENT_SECURITY_POLICY,
                "Cache-Control": CACHE_CONTROL,
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer",
            },
        )

    routes: list[BaseRoute] = [Route("/", page, methods=["GET", "HEAD"], include_in_schema=False)]
    routes.append(local_key_route(generated_key))  # before the mount that claims /console
    routes.append(Mount(ASSETS_PREFIX, app=_Assets(directory=root), name="console"))
    return routes


class _Assets(StaticFiles):
    """Static files with the console's caching and no content sniffing."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers["Cache-Control"] = CACHE_CONTROL
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response
