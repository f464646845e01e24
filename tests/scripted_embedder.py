"""An embedder for tests: vectors from each text's digest, a token a word."""

from __future__ import annotations

import hashlib
import math
import struct
from collections.abc import Sequence

from openscope.core.knowledge import Embeddings, EmbeddingUse


class ScriptedEmbedder:
    """Vectors from each text's digest (unit length, 384 long); a token a word."""

    def __init__(self, model: str = "multilingual-e5-small", dimensions: int = 384) -> None:
        self._model = model
        self._dimensions = dimensions
        self.calls: list[tuple[list[str], EmbeddingUse]] = []

    @property
    def model(self) -> str:
        return self._model

    @property
    def dimensions(self) -> int:
        return self._dimensions

    def vector(self, text: str) -> tuple[float, ...]:
        seed = hashlib.sha256(text.encode()).digest()
        raw = [(seed[i % 32] + i % 7 - 130) / 128 for i in range(self._dimensions)]
        norm = math.sqrt(sum(x * x for x in raw))
        # through float32, as a real model's vectors are
        packed = struct.pack(f"<{len(raw)}f", *(x / norm for x in raw))
        return struct.unpack(f"<{len(raw)}f", packed)

    async def embed(self, texts: Sequence[str], use: EmbeddingUse = "passage") -> Embeddings:
        self.calls.append((list(texts), use))
        tokens = sum(len(t.split()) for t in texts)
        return Embeddings(vectors=tuple(self.vector(t) for t in texts), tokens=tokens)

    async def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(t.split()) for t in texts]

    async def close(self) -> None:
        pass
