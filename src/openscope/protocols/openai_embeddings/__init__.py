"""Model Studio's OpenAI-compatible embeddings API (`POST /compatible-mode/v1/embeddings`)."""

from openscope.protocols.openai_embeddings.routes import ERRORS, build_router, claims

__all__ = ["ERRORS", "build_router", "claims"]
