"""The Anthropic-compatible Messages API, as Model Studio serves it under /apps/anthropic."""

from openscope.protocols.anthropic_messages.routes import build_router

__all__ = ["build_router"]
