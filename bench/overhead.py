"""What the request path itself costs: chat completions through the in-tree scripted backend
(no model), non-stream and stream, as requests per second of a server pinned to one core.

    .venv/bin/python bench/overhead.py                       # this tree alone
    .venv/bin/python bench/overhead.py --baseline 32cfcf8    # and a git revision, side by side

Each side is an `openscope serve` whose only backend is the scripted one, pinned with
`taskset` to core 0 (the clients run on the other cores), warmed up, then sent `--requests`
requests `--concurrency` at a time, alternating sides in `--rounds` rounds so both see the
same machine. With `--baseline REV`, that revision is checked out into a temporary git
worktree and served from its own `src/` (same virtual environment); printed: each side's
median requests/s per mode and this tree's ratio to the baseline (>= 1.0: no slower).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import time
from pathlib import Path

import httpx

from server import API_KEY, Server, checked_out, pinned_to_core_0, serve_config

ROOT = Path(__file__).resolve().parent.parent
CHAT = "/compatible-mode/v1/chat/completions"
MODEL = "scripted-echo"
CONFIG = f"""
[backends.scripted]
type = "scripted"

[routes]
"{MODEL}" = "scripted"
"""
BODY = {
    "model": MODEL,
    "messages": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "Say something short about the sea, please."},
    ],
    "max_tokens": 64,
    "temperature": 0.7,
}


def serving(src: Path) -> contextlib.AbstractContextManager[Server]:
    """A scripted-backend server running `src`'s openscope on core 0."""
    return serve_config(CONFIG, launcher=pinned_to_core_0(), env={"PYTHONPATH": str(src)})


async def one(client: httpx.AsyncClient, stream: bool) -> None:
    if not stream:
        response = await client.post(CHAT, json=BODY)
        response.raise_for_status()
        return
    async with client.stream("POST", CHAT, json={**BODY, "stream": True}) as response:
        response.raise_for_status()
        async for _ in response.aiter_bytes():
            pass


async def rate(base: str, *, stream: bool, requests: int, concurrency: int) -> float:
    """Requests per second for `requests` requests, `concurrency` in flight."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with httpx.AsyncClient(
        base_url=base, headers=headers, limits=limits, timeout=60
    ) as client:
        queue = iter(range(requests))

        async def worker() -> None:
            for _ in queue:
                await one(client, stream)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return requests / (time.perf_counter() - started)


def measure(bases: dict[str, str], args: argparse.Namespace) -> dict[tuple[str, str], list[float]]:
    results: dict[tuple[str, str], list[float]] = {}
    for base in bases.values():  # warm-up: imports, first-request paths
        for stream in (False, True):
            asyncio.run(rate(base, stream=stream, requests=50, concurrency=args.concurrency))
    for _ in range(args.rounds):
        for side, base in bases.items():
            for mode, stream in (("non-stream", False), ("stream", True)):
                value = asyncio.run(
                    rate(base, stream=stream, requests=args.requests, concurrency=args.concurrency)
                )
                results.setdefault((side, mode), []).append(value)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", help="a git revision to measure beside this tree")
    parser.add_argument("--requests", type=int, default=400, help="requests per measurement")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per side")
    args = parser.parse_args()

    with contextlib.ExitStack() as stack:
        sources = {"this tree": ROOT / "src"}
        if args.baseline:
            baseline = stack.enter_context(checked_out(args.baseline))
            sources = {f"baseline {args.baseline}": baseline, **sources}
        bases = {}
        for side, src in sources.items():
            bases[side] = stack.enter_context(serving(src)).base
        print(
            f"request overhead, scripted backend, server on core 0: {args.requests} requests "
            f"x {args.rounds} rounds, {args.concurrency} in flight"
        )
        results = measure(bases, args)
    for (side, mode), values in results.items():
        print(f"{side:>24} {mode:>10}: {statistics.median(values):7.1f} req/s  {values}")
    if args.baseline:
        for mode in ("non-stream", "stream"):
            ours = statistics.median(results[("this tree", mode)])
            theirs = statistics.median(results[(f"baseline {args.baseline}", mode)])
            verdict = "no slower" if ours >= 0.95 * theirs else "SLOWER"
            ratio = ours / theirs
            print(f"{mode}: this tree / baseline = {ratio:.2f} (target: not slower; {verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
