"""A deterministic embedder for the knowledge tests: a hashed bag of words (CJK characters
count one each), L2-normalised, so texts sharing words are near and others far; a token is
a word, and every text costs `overhead` tokens more (as a model's special tokens do)."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence

from openscope.core.knowledge import Embeddings, EmbeddingUse

WORD = re.compile(r"[\u4e00-\u9fff]|[^\W_]+")


def words(text: str) -> list[str]:
    return WORD.findall(text.lower())


class FakeEmbedder:
    def __init__(self, model: str = "fake-bow", dimensions: int = 64, overhead: int = 2) -> None:
        self._model = model
        self._dimensions = dimensions
        self.overhead = overhead
        self.count_calls = 0
        self.embed_calls = 0

    @property
    def model(self) -> str:
        return self._model

    @property
    def dimensions(self) -> int:
        return self._dimensions

    def vector(self, text: str) -> tuple[float, ...]:
        values = [0.0] * self._dimensions
        for word in words(text):
            digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
            values[int.from_bytes(digest[:4], "big") % self._dimensions] += (
                1.0 if digest[4] & 1 else -1.0
            )
        norm = math.sqrt(sum(v * v for v in values)) or 1.0
        return tuple(v / norm for v in values)

    async def embed(self, texts: Sequence[str], use: EmbeddingUse = "passage") -> Embeddings:
        self.embed_calls += 1
        return Embeddings(
            tuple(self.vector(text) for text in texts),
            sum(len(words(text)) + self.overhead for text in texts),
        )

    async def count_tokens(self, texts: Sequence[str]) -> list[int]:
        self.count_calls += 1
        return [len(words(text)) + self.overhead for text in texts]
