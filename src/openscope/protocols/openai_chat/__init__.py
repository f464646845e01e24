"""The OpenAI-compatible Chat Completions API, as Model Studio serves it."""

from openscope.protocols.openai_chat.routes import ERRORS, build_router

__all__ = ["ERRORS", "build_router"]
