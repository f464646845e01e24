"""Concurrent decoding through openscope's HTTP API: how much aggregate throughput several
streams get over one, and how long each waits for its first token.

    .venv/bin/python bench/concurrency.py                  # 128 tokens, streams 8 and 32
    .venv/bin/python bench/concurrency.py --tokens 128 --runs 3 --threads 2 --parallel 8

Starts `openscope serve` on 127.0.0.1 (embedded backend: parallel 8, max_waiting 64,
n_threads 2), sends one warm-up request, then streams greedy chat completions
(`stream_options.include_usage`), every request with its own prompt so outputs differ:

- single stream: completion tokens (from usage) / wall time of the request, median of
  `--runs` requests one after another;
- N concurrent streams (8 and 32, started together with asyncio.gather): aggregate
  tokens/s = all streams' completion tokens / wall time of the whole batch, and the mean
  time to first content token (TTFT) over the streams.

Targets: aggregate@8 / single >= 1.6 and mean TTFT@8 <= 1.4 s; aggregate@32 / single is
printed without one. An engine that decodes one request at a time scores about 1.0 and a
TTFT that grows with the queue.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from dataclasses import dataclass

import httpx

from server import Server, StreamResult, chat_body, gather_within, serve, stream_chat, user

SUBJECTS = [
    "a lighthouse keeper",
    "a retired astronaut",
    "a young baker",
    "a travelling violinist",
    "a city gardener",
    "an old clockmaker",
    "a mountain guide",
    "a ship's cook",
]
EVENTS = [
    "finds a message in a bottle",
    "loses the key to a secret room",
    "meets a fox that can talk",
    "discovers a door behind the bookshelf",
    "receives a letter from the future",
    "wakes up in a city made of glass",
    "inherits a map with no names on it",
    "hears music coming from the empty house next door",
]
TARGET_SPEEDUP_AT_8 = 1.6
TARGET_TTFT_AT_8 = 1.4


def prompt(index: int) -> str:
    """Prompt number `index`, different from every other one below len(SUBJECTS) ** 2."""
    subject = SUBJECTS[index % len(SUBJECTS)]
    event = EVENTS[(index // len(SUBJECTS) + index) % len(EVENTS)]
    return f"Write a long story about {subject} who {event}."


@dataclass(frozen=True)
class Batch:
    streams: int
    wall: float
    results: list[StreamResult]
    errors: list[str]
    unfinished: int

    @property
    def ok(self) -> list[StreamResult]:
        return [r for r in self.results if r.ok]

    @property
    def tokens(self) -> int:
        return sum(r.completion_tokens for r in self.ok)

    @property
    def rate(self) -> float:
        return self.tokens / self.wall

    @property
    def mean_ttft(self) -> float:
        ttfts = [r.ttft for r in self.ok if r.ttft is not None]
        return statistics.fmean(ttfts) if ttfts else float("nan")

    @property
    def distinct(self) -> int:
        return len({r.text for r in self.ok})


class Prompts:
    """Hands out prompt numbers so no two requests of a run share a prompt."""

    def __init__(self) -> None:
        self._next = 0

    def take(self) -> str:
        self._next += 1
        if self._next > len(SUBJECTS) * len(EVENTS):
            raise RuntimeError("out of distinct prompts")
        return prompt(self._next - 1)


async def batch(
    client: httpx.AsyncClient,
    server: Server,
    prompts: Prompts,
    streams: int,
    tokens: int,
    limit: float,
) -> Batch:
    """`streams` requests started together; those still running after `limit` seconds are
    cancelled and counted as unfinished (the wall time is then the limit)."""
    bodies = [chat_body(user(prompts.take()), tokens) for _ in range(streams)]
    started = time.perf_counter()
    outcomes = await gather_within(limit, *(stream_chat(client, server, b) for b in bodies))
    wall = time.perf_counter() - started
    results = [o for o in outcomes if isinstance(o, StreamResult)]
    errors = [f"{type(o).__name__}: {o}" for o in outcomes if isinstance(o, BaseException)]
    errors += [f"HTTP {r.status}" for r in results if not r.ok]
    unfinished = sum(o is None for o in outcomes)
    if unfinished:
        errors.append(f"{unfinished} streams unfinished after {limit:.0f} s")
    return Batch(streams, wall, results, errors, unfinished)


async def bench(server: Server, args: argparse.Namespace) -> tuple[float, list[Batch]]:
    prompts = Prompts()
    limits = httpx.Limits(max_connections=max(args.streams) + 4)
    timeout = httpx.Timeout(10.0, read=args.timeout)
    async with httpx.AsyncClient(timeout=timeout, limits=limits) as client:
        singles = []
        for run in range(args.runs + 1):  # the first one warms up
            body = chat_body(user(prompts.take()), args.tokens)
            async with asyncio.timeout(args.timeout):
                result = await stream_chat(client, server, body)
            if not result.ok:
                raise RuntimeError(f"single-stream request failed: HTTP {result.status}")
            if run:
                singles.append(result.completion_tokens / result.seconds)
        single = statistics.median(singles)
        rates = ", ".join(f"{r:.1f}" for r in singles)
        print(f"single stream: {single:6.1f} tok/s (median of {rates})", flush=True)
        batches = []
        for streams in args.streams:
            result = await batch(client, server, prompts, streams, args.tokens, args.timeout)
            print(
                f"{streams:>2} streams:    {result.rate:6.1f} tok/s aggregate "
                f"({result.tokens} tokens in {result.wall:.2f} s), "
                f"mean TTFT {result.mean_ttft:.2f} s, {len(result.ok)}/{streams} ok, "
                f"{result.distinct} distinct outputs",
                flush=True,
            )
            for error in result.errors[:5]:
                print(f"    failed: {error}")
            batches.append(result)
    return single, batches


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=128, help="max_tokens of every request")
    parser.add_argument("--runs", type=int, default=3, help="single-stream requests")
    parser.add_argument("--threads", type=int, default=2, help="the backend's n_threads")
    parser.add_argument("--parallel", type=int, default=8, help="the backend's parallel")
    parser.add_argument("--max-waiting", type=int, default=64, help="the backend's max_waiting")
    parser.add_argument(
        "--streams", type=int, nargs="+", default=[8, 32], help="concurrent stream counts"
    )
    parser.add_argument(
        "--timeout", type=float, default=180.0, help="seconds a batch or a request may take"
    )
    args = parser.parse_args()
    if len(SUBJECTS) * len(EVENTS) < 1 + args.runs + sum(args.streams):
        parser.error("more requests than distinct prompts")
    options = {
        "parallel": args.parallel,
        "max_waiting": args.max_waiting,
        "n_threads": args.threads,
    }
    print(
        f"concurrency through HTTP, {args.tokens} tokens per stream, greedy, backend {options}",
        flush=True,
    )
    with serve(options) as server:
        single, batches = asyncio.run(bench(server, args))
    for result in batches:
        speedup = result.rate / single
        if result.streams == 8:
            ok = speedup >= TARGET_SPEEDUP_AT_8
            print(
                f"aggregate@8 / single: {speedup:.2f} "
                f"(target >= {TARGET_SPEEDUP_AT_8}: {verdict(ok)})"
            )
            ok = result.mean_ttft <= TARGET_TTFT_AT_8
            print(
                f"mean TTFT@8: {result.mean_ttft:.2f} s "
                f"(target <= {TARGET_TTFT_AT_8} s: {verdict(ok)})"
            )
        else:
            print(
                f"aggregate@{result.streams} / single: {speedup:.2f} (no target); "
                f"mean TTFT@{result.streams}: {result.mean_ttft:.2f} s"
            )
    return 1 if any(result.errors for result in batches) else 0


if __name__ == "__main__":
    sys.exit(main())
