"""Decode speed against the size of the KV cache, to choose the default `kv_tokens`.

With KV-budget admission, `kv_tokens` decides how many requests run at once: a request
reserves its prompt plus its answer budget (the whole `ctx_per_seq` when it sets no
max_tokens). More cells admit more, but llama.cpp's CPU flash attention once slowed
sharply past about 20,000 cells on this model. This script serves the embedded model with
each size in turn and prints single-stream and 8-stream decode speed as ratios to the
smallest size, measured in the same run.

    .venv/bin/python bench/kv_size.py --sizes 16384 24576 32768
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

import httpx

from concurrency import Prompts, batch
from server import Server, chat_body, serve, stream_chat, user


async def measure(server: Server, tokens: int, streams: int, limit: float) -> tuple[float, float]:
    prompts = Prompts()
    limits = httpx.Limits(max_connections=streams + 4)
    async with httpx.AsyncClient(timeout=httpx.Timeout(10.0, read=limit), limits=limits) as client:
        await stream_chat(client, server, chat_body(user(prompts.take()), 8))  # warm up
        single = await stream_chat(client, server, chat_body(user(prompts.take()), tokens))
        if not single.ok:
            raise RuntimeError(f"single stream failed: HTTP {single.status}")
        many = await batch(client, server, prompts, streams, tokens, limit)
        if many.errors:
            raise RuntimeError(f"{streams} streams failed: {many.errors[:3]}")
    return single.completion_tokens / single.seconds, many.rate


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[16384, 24576, 32768])
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--streams", type=int, default=8)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    figures = []
    for size in args.sizes:
        options = {"n_threads": args.threads, "kv_tokens": size}
        with serve(options) as server:
            single, many = asyncio.run(measure(server, args.tokens, args.streams, args.timeout))
        figures.append((size, single, many))
        print(
            f"kv_tokens={size:>6}: 1 stream {single:6.1f} tok/s, "
            f"{args.streams} streams {many:6.1f} tok/s aggregate",
            flush=True,
        )
    base_single, base_many = figures[0][1], figures[0][2]
    for size, single, many in figures[1:]:
        print(
            f"kv_tokens={size:>6} / {figures[0][0]}: 1 stream {single / base_single:.2f}, "
            f"{args.streams} streams {many / base_many:.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
