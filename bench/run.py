"""Single-stream decode speed through openscope's HTTP API, as a ratio to llama-cpp-python's
own `create_chat_completion` on the same model, prompt and threads, measured in this run.

    make bench            # or: .venv/bin/python bench/run.py --tokens 128 --runs 3
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time

import httpx

from server import Server, chat_body, serve, stream_chat, user

PROMPT = "Write a long story about a lighthouse keeper who finds a message in a bottle."


def baseline(tokens: int, runs: int, threads: int) -> float:
    from llama_cpp import Llama

    from openscope.backends.llamacpp.model_file import embedded_model_path

    llm = Llama(str(embedded_model_path()), n_ctx=8192, n_threads=threads, verbose=False)
    rates = []
    for _ in range(runs + 1):  # the first run warms up
        started = time.perf_counter()
        out = llm.create_chat_completion(
            [{"role": "user", "content": PROMPT}], max_tokens=tokens, temperature=0.0
        )
        elapsed = time.perf_counter() - started
        rates.append(out["usage"]["completion_tokens"] / elapsed)
    llm.close()
    return statistics.median(rates[1:])


def ours(tokens: int, runs: int, threads: int) -> float:
    body = chat_body(user(PROMPT), tokens)

    async def rates(server: Server) -> list[float]:
        async with httpx.AsyncClient(timeout=120) as client:
            results = [await stream_chat(client, server, body) for _ in range(runs + 1)]
        return [r.completion_tokens / r.seconds for r in results]

    with serve({"n_threads": threads}) as server:
        return statistics.median(asyncio.run(rates(server))[1:])  # the first run warms up


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    base = baseline(args.tokens, args.runs, args.threads)
    mine = ours(args.tokens, args.runs, args.threads)
    print(f"llama-cpp-python create_chat_completion, in-process: {base:6.1f} tok/s")
    print(f"openscope, HTTP stream end to end:                   {mine:6.1f} tok/s")
    print(f"single-stream ratio (openscope / llama-cpp-python): {mine / base:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
