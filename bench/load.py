"""Long-prompt load through openscope's HTTP API: 8, 16 and 32 concurrent streaming chat
completions of ~1,800-token prompts and 400-token answers against one server with its
default settings, and what became of each stream.

    .venv/bin/python bench/load.py                       # levels 8 16 32, 400 tokens
    .venv/bin/python bench/load.py --quick               # levels 2 4, short (a smoke run)
    .venv/bin/python bench/load.py --levels 8 --max-tokens 400 --prompt-tokens 1800

Starts `openscope serve` on 127.0.0.1 with no backend options (the embedded engine's
defaults), sizes the prompts from two calibration requests (which also warm it up), then
for each level starts that many greedy streams together (`stream_options.include_usage`),
every one with its own generated report, a stream-specific header first, so no two share a
prefix. Prompt sizes are the server's own usage.prompt_tokens. Per level it prints:

- completed: 200, read to `data: [DONE]` with no error frame;
- refused before 200: 503 or 429 before any byte (a client may retry those);
- failed after 200: a 200 whose stream then carried `data: {"error": ...}`, was cut, or
  ended without [DONE]. Target 0: a server that cannot serve a request should say so
  with its status, not after it has promised a 200;
- aggregate tokens/s (completed streams' usage.completion_tokens / the level's wall time)
  and the mean and p95 time to first content token over completed streams (no target).

Bounded: levels run one after another, each for at most `--limit` seconds (streams still
running then are cancelled and counted unfinished). Exits 1 when any stream failed after
its 200 or did not finish.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass

import httpx

from server import Server, StreamResult, chat_body, gather_within, serve, stream_chat, user

WORD_TEXT = (
    "river station pressure valve north engineer morning report sample measured steady "
    "rising falling wind turbine survey crew bridge signal cable harbour tide storage "
    "grain market price supplier contract delay shipment inspection budget quarter "
    "village school road repair winter summer forest trail survey animal count bird "
    "nest water level rain gauge field crop harvest soil nitrogen test result team "
    "meeting decision schedule risk safety incident minor major follow action owner "
    "lamp tower keeper light beacon ferry island supply boat engine fuel oil spare "
    "part order warehouse clerk ledger entry error audit review approved rejected"
)
WORDS = WORD_TEXT.split()
STATIONS = ["Alder", "Birch", "Cedar", "Dunmore", "Elm", "Fenwick", "Glen", "Harlow"]
INSTRUCTION = (
    "Rewrite the report above as a long, detailed essay for a general reader, covering "
    "every section in order."
)
REFUSALS = (503, 429)


def report(seed: int, words: int) -> str:
    """A distinct field report of about `words` words: a header naming report `seed`, then
    numbered sections of sentences drawn from WORDS by a generator seeded with it."""
    rng = random.Random(seed)
    station = STATIONS[seed % len(STATIONS)]
    lines = [f"Field report no. {seed} from {station} station, crew {rng.randint(100, 999)}."]
    written = 12
    section = 0
    while written < words:
        section += 1
        lines.append(f"Section {section}.")
        for _ in range(6):
            length = rng.randint(8, 16)
            sentence = " ".join(rng.choice(WORDS) for _ in range(length))
            lines.append(sentence.capitalize() + ".")
            written += length + 1
    return "\n".join(lines) + "\n\n" + INSTRUCTION


@dataclass(frozen=True)
class Sizing:
    words_per_token: float
    overhead: int  # template and instruction tokens

    def words(self, tokens: int) -> int:
        return max(20, round((tokens - self.overhead) * self.words_per_token))


async def calibrate(client: httpx.AsyncClient, server: Server) -> Sizing:
    """Prompt tokens of a short and a long report, from usage (1-token answers)."""
    counts = []
    for words in (100, 1200):
        body = chat_body(user(report(10**6 + words, words)), 1)
        result = await stream_chat(client, server, body)
        if not result.complete or not result.prompt_tokens:
            raise RuntimeError(f"calibration request failed: HTTP {result.status} {result.error}")
        counts.append(result.prompt_tokens)
    slope = (counts[1] - counts[0]) / 1100
    return Sizing(1 / slope, round(counts[0] - 100 * slope))


@dataclass(frozen=True)
class Level:
    streams: int
    wall: float
    results: list[StreamResult]
    exceptions: list[str]  # raised before any 200
    unfinished: int

    @property
    def completed(self) -> list[StreamResult]:
        return [r for r in self.results if r.complete]

    @property
    def refused(self) -> list[StreamResult]:
        return [r for r in self.results if r.status in REFUSALS]

    @property
    def other_status(self) -> Counter[int]:
        return Counter(r.status for r in self.results if r.status not in (200, *REFUSALS))

    @property
    def failed_after_200(self) -> list[StreamResult]:
        return [r for r in self.results if r.status == 200 and not r.complete]

    @property
    def rate(self) -> float:
        return sum(r.completion_tokens for r in self.completed) / self.wall

    @property
    def ttfts(self) -> list[float]:
        return sorted(r.ttft for r in self.completed if r.ttft is not None)


def p95(values: list[float]) -> float:
    """Nearest-rank 95th percentile of sorted `values`."""
    if not values:
        return float("nan")
    return values[max(0, math.ceil(0.95 * len(values)) - 1)]


async def level(
    client: httpx.AsyncClient,
    server: Server,
    streams: int,
    sizing: Sizing,
    args: argparse.Namespace,
) -> Level:
    words = sizing.words(args.prompt_tokens)
    seeds = [streams * 1000 + i for i in range(streams)]  # distinct across levels too
    bodies = [
        chat_body(user(report(seed, words)), args.max_tokens, temperature=args.temperature)
        for seed in seeds
    ]
    started = time.perf_counter()
    outcomes = await gather_within(
        args.limit, *(stream_chat(client, server, body, catch=True) for body in bodies)
    )
    wall = time.perf_counter() - started
    return Level(
        streams,
        wall,
        [o for o in outcomes if isinstance(o, StreamResult)],
        [f"{type(o).__name__}: {o}" for o in outcomes if isinstance(o, BaseException)],
        sum(o is None for o in outcomes),
    )


def describe(result: Level, args: argparse.Namespace) -> list[str]:
    frames = sum(1 for r in result.failed_after_200 if r.error and "after the 200" not in r.error)
    cut = sum(1 for r in result.failed_after_200 if r.error and "after the 200" in r.error)
    silent = sum(1 for r in result.failed_after_200 if not r.error)
    prompts = [r.prompt_tokens for r in result.completed if r.prompt_tokens]
    answers = [r.completion_tokens for r in result.completed]
    ttfts = result.ttfts
    n = result.streams
    lines = [
        f"{n} streams ({result.wall:.1f} s):",
        f"  completed:          {len(result.completed):>3}/{n} (no target)",
        f"  refused before 200: {len(result.refused):>3}/{n} (503/429; no target)",
        f"  failed after 200:   {len(result.failed_after_200):>3}/{n} (target 0: "
        f"{'met' if not result.failed_after_200 else 'MISSED'}; error frames {frames}, "
        f"cut {cut}, no [DONE] {silent})",
        f"  aggregate:          {result.rate:6.1f} tok/s (no target)",
        f"  TTFT mean / p95:    "
        f"{statistics.fmean(ttfts) if ttfts else float('nan'):.2f} s / {p95(ttfts):.2f} s "
        "(no target)",
    ]
    if prompts:
        lines.append(
            f"  prompt tokens:      mean {statistics.fmean(prompts):.0f}, min {min(prompts)}, "
            f"max {max(prompts)} (usage; aim ~{args.prompt_tokens})"
        )
    if answers:
        lines.append(
            f"  completion tokens:  mean {statistics.fmean(answers):.0f}, min {min(answers)}, "
            f"max {max(answers)} (max_tokens {args.max_tokens})"
        )
    if result.other_status:
        lines.append(f"  other statuses:     {dict(result.other_status)}")
    if result.unfinished:
        lines.append(f"  unfinished:         {result.unfinished} after {args.limit:.0f} s")
    samples = [r.error or "ended without [DONE]" for r in result.failed_after_200]
    for sample in (samples + result.exceptions)[:3]:
        lines.append(f"    e.g. {sample}")
    return lines


async def bench(server: Server, args: argparse.Namespace) -> list[Level]:
    limits = httpx.Limits(max_connections=max(args.levels) + 4)
    timeout = httpx.Timeout(10.0, read=args.limit)
    async with httpx.AsyncClient(timeout=timeout, limits=limits) as client:
        sizing = await calibrate(client, server)
        print(
            f"calibration: {sizing.words_per_token:.2f} words/token, {sizing.overhead} tokens "
            f"of template and instruction; {sizing.words(args.prompt_tokens)} words a prompt",
            flush=True,
        )
        levels = []
        for streams in args.levels:
            result = await level(client, server, streams, sizing, args)
            print("\n".join(describe(result, args)), flush=True)
            levels.append(result)
    return levels


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--levels", type=int, nargs="+", default=[8, 16, 32])
    parser.add_argument("--max-tokens", type=int, default=400)
    parser.add_argument("--prompt-tokens", type=int, default=1800, help="prompt size to aim at")
    parser.add_argument("--temperature", type=float, default=0.0)
    parser.add_argument("--limit", type=float, default=900.0, help="seconds a level may take")
    parser.add_argument("--quick", action="store_true", help="levels 2 4, 600+32 tokens")
    args = parser.parse_args()
    if args.quick:
        args.levels, args.prompt_tokens, args.max_tokens, args.limit = [2, 4], 600, 32, 300.0
    print(
        f"load through HTTP: levels {args.levels}, ~{args.prompt_tokens}-token prompts, "
        f"max_tokens {args.max_tokens}, temperature {args.temperature}, default backend",
        flush=True,
    )
    with serve({}) as server:
        levels = asyncio.run(bench(server, args))
    bad = any(result.failed_after_200 or result.unfinished for result in levels)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
