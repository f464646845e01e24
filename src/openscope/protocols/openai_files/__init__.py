"""The OpenAI-compatible Files and Vector Stores APIs (uploads, vector stores, their
files and batches, and search), as the `openai` SDK calls them."""

from openscope.protocols.openai_files.routes import ERRORS, PREFIXES, build_router, claims

__all__ = ["ERRORS", "PREFIXES", "build_router", "claims"]
