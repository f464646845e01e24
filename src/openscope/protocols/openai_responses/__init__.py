"""The OpenAI-compatible Responses API and Conversations, as Model Studio serves them."""

from openscope.protocols.openai_responses.routes import ERRORS, build_router, claims

__all__ = ["ERRORS", "build_router", "claims"]
