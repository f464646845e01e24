"""The OpenAI-compatible Responses API and Conversations, as Model Studio serves them."""

from openscope.protocols.openai_responses.routes import build_router

__all__ = ["build_router"]
