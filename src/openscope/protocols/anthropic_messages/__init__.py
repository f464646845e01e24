"""The Anthropic-compatible Messages API, as Model Studio serves it under /apps/anthropic."""

from openscope.protocols.anthropic_messages.routes import ERRORS, build_router, claims

__all__ = ["ERRORS", "build_router", "claims"]
