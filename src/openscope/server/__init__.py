"""The HTTP server: `create_app(settings)` builds every service and mounts the protocols."""

from openscope.server.app import create_app

__all__ = ["create_app"]
