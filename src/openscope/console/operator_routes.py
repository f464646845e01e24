"""The operator view's static page at `/console/operator/`: an HTML page, its stylesheet
and its ES modules, read from the package. Only the files named here are served (no path
from the URL ever reaches the file system), each with a policy that lets the page load
nothing but itself and talk to nothing but this server."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import RedirectResponse
from starlette.responses import FileResponse, Response

OPERATOR_PATH = "/console/operator"
ASSETS = Path(__file__).parent / "operator"

# URL name -> (file, media type). The page is `/console/operator/`.
FILES = {
    "": ("operator.html", "text/html; charset=utf-8"),
    "operator.css": ("operator.css", "text/css; charset=utf-8"),
    "operator.js": ("operator.js", "text/javascript; charset=utf-8"),
    "api.js": ("api.js", "text/javascript; charset=utf-8"),
    "charts.js": ("charts.js", "text/javascript; charset=utf-8"),
    "usage.js": ("usage.js", "text/javascript; charset=utf-8"),
    "engine.js": ("engine.js", "text/javascript; charset=utf-8"),
    "keys.js": ("keys.js", "text/javascript; charset=utf-8"),
}

# Same origin only: no CDN, no inline script, no frame; the admin key never leaves for
# another host.
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def operator_router(assets: Path = ASSETS) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get(OPERATOR_PATH)
    async def bare() -> Response:
        # relative module URLs in the page resolve against the trailing slash
        return RedirectResponse(f"{OPERATOR_PATH}/", status_code=308)

    for name, (file, media_type) in FILES.items():
        router.add_api_route(f"{OPERATOR_PATH}/{name}", asset(assets / file, media_type))
    return router


def asset(path: Path, media_type: str) -> Callable[[], Awaitable[Response]]:
    """A handler that takes no parameter: nothing of the request chooses the file."""

    async def serve() -> Response:
        return FileResponse(path, media_type=media_type, headers=HEADERS)

    return serve
