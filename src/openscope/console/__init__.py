"""The browser console: static assets shipped inside the package (no CDN, no build step),
served by the server itself: the playground at `/` (its assets under `/console/`) and the
operator view under `/console/operator/`."""

from openscope.console.routes import ASSETS_PREFIX, console_routes

__all__ = ["ASSETS_PREFIX", "console_routes"]
