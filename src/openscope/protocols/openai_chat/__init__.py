"""The OpenAI-compatible Chat Completions API, as Model Studio serves it."""

from openscope.protocols.openai_chat.routes import build_router

__all__ = ["build_router"]
