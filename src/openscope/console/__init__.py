"""The browser console: static assets shipped inside the package (no CDN, no build step),
served by the server at `/` with the assets under `/console/`."""

from openscope.console.routes import ASSETS_PREFIX, console_routes

__all__ = ["ASSETS_PREFIX", "console_routes"]
