"""Prefix cache: time to first token of a ~1,500-token prompt the first time the server sees
it (cold) and when it comes again (its prefix cached), through openscope's HTTP API.

    .venv/bin/python bench/cache.py                 # 3 cold prompts, each repeated 3 times
    .venv/bin/python bench/cache.py --cold 3 --runs 5 --threads 2 --cache-tokens 16384

Starts `openscope serve` on 127.0.0.1 (embedded backend: parallel 8, max_waiting 64,
n_threads 2, and `cache_tokens` if given) and sends one unrelated warm-up request. The
prompt is a long system message of numbered, deterministic, varied sentences and a short
user question; its size is checked against the response's `usage.prompt_tokens` (aim:
1,450-1,600). Each of `--cold` prompts starts with its own first word, so none shares a
prefix (beyond the chat template's first tokens) with another: its first request is
cold; it is then sent again `--runs` times, identical, and those are cached. Every
request streams greedily (`stream_options.include_usage`) and TTFT is the time from
sending it to its first content token.

Prints the median cold and cached TTFT, their ratio (target: cached / cold <= 0.02) and
the `usage.prompt_tokens_details.cached_tokens` the cached requests report.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys

import httpx

from server import Server, StreamResult, chat_body, serve, stream_chat, user

FIRST_WORDS = ["Amber", "Basalt", "Cedar", "Dune", "Ember", "Fjord", "Granite", "Heron"]
ADJECTIVES = ["quiet", "crooked", "golden", "ancient", "restless", "narrow", "painted", "frozen"]
NOUNS = ["miller", "lantern", "orchard", "ferryman", "clocktower", "weaver", "harbour", "cellar"]
VERBS = ["remembers", "repairs", "counts", "guards", "paints", "follows", "hides", "measures"]
OBJECTS = [
    "seven copper bells",
    "a map of the northern hills",
    "the letters from the capital",
    "a basket of winter pears",
    "the names of every ship",
    "an old violin with two strings",
    "the river's spring floods",
    "a box of brass keys",
]
TIMES = ["at dawn", "before the market opens", "on rainy evenings", "every second Tuesday"]
QUESTION = "In one sentence, what does the ferryman do in these notes?"
PROMPT_TOKENS_AIM = (1450, 1600)
TARGET_RATIO = 0.02


def system_text(first_word: str, sentences: int) -> str:
    """`sentences` numbered sentences, the same for every first word (seeded), after it."""
    rng = random.Random(1234)
    lines = [f"{first_word} notebook. Read these village notes carefully."]
    for n in range(1, sentences + 1):
        lines.append(
            f"{n}. The {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} {rng.choice(VERBS)} "
            f"{rng.choice(OBJECTS)} {rng.choice(TIMES)}."
        )
    return "\n".join(lines)


def body(first_word: str, sentences: int, tokens: int) -> dict[str, object]:
    messages = [
        {"role": "system", "content": system_text(first_word, sentences)},
        {"role": "user", "content": QUESTION},
    ]
    return chat_body(messages, tokens)


async def send(
    client: httpx.AsyncClient, server: Server, request: dict[str, object], limit: float
) -> StreamResult:
    async with asyncio.timeout(limit):
        result = await stream_chat(client, server, request)
    if not result.ok:
        raise RuntimeError(f"request failed: HTTP {result.status}")
    return result


async def bench(
    server: Server, args: argparse.Namespace
) -> tuple[list[StreamResult], list[StreamResult]]:
    cold, cached = [], []
    timeout = httpx.Timeout(10.0, read=args.timeout)
    async with httpx.AsyncClient(timeout=timeout) as client:
        await send(client, server, chat_body(user("Say hello."), args.tokens), args.timeout)
        for first_word in FIRST_WORDS[: args.cold]:
            request = body(first_word, args.sentences, args.tokens)
            first = await send(client, server, request, args.timeout)
            cold.append(first)
            report(first_word, "cold", first)
            for _ in range(args.runs):
                again = await send(client, server, request, args.timeout)
                cached.append(again)
                report(first_word, "cached", again)
    return cold, cached


def report(first_word: str, kind: str, result: StreamResult) -> None:
    print(
        f"{first_word:<8} {kind:<6} TTFT {result.ttft:7.3f} s  "
        f"prompt_tokens {result.prompt_tokens}, cached_tokens {result.cached_tokens}",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=16, help="max_tokens of every request")
    parser.add_argument("--runs", type=int, default=3, help="cached repeats of each prompt")
    parser.add_argument("--cold", type=int, default=3, help=f"cold prompts (<= {len(FIRST_WORDS)})")
    parser.add_argument("--threads", type=int, default=2, help="the backend's n_threads")
    parser.add_argument("--parallel", type=int, default=8, help="the backend's parallel")
    parser.add_argument("--max-waiting", type=int, default=64, help="the backend's max_waiting")
    parser.add_argument("--cache-tokens", type=int, help="the backend's cache_tokens")
    parser.add_argument("--sentences", type=int, default=84, help="sentences in the system message")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds a request may take")
    args = parser.parse_args()
    if not 1 <= args.cold <= len(FIRST_WORDS) or args.runs < 1:
        parser.error(f"--cold must be 1..{len(FIRST_WORDS)} and --runs at least 1")
    options: dict[str, object] = {
        "parallel": args.parallel,
        "max_waiting": args.max_waiting,
        "n_threads": args.threads,
    }
    if args.cache_tokens is not None:
        options["cache_tokens"] = args.cache_tokens
    print(f"prefix cache through HTTP, backend {options}", flush=True)
    with serve(options) as server:
        cold, cached = asyncio.run(bench(server, args))

    prompt_tokens = cold[0].prompt_tokens
    low, high = PROMPT_TOKENS_AIM
    size = "in" if low <= prompt_tokens <= high else "OUTSIDE"
    cold_ttft = statistics.median(r.ttft or 0.0 for r in cold)
    cached_ttft = statistics.median(r.ttft or 0.0 for r in cached)
    ratio = cached_ttft / cold_ttft
    cached_tokens = sorted({r.cached_tokens for r in cached})
    print(f"prompt tokens: {prompt_tokens} ({size} the aim {low}-{high})")
    print(f"median TTFT cold:   {cold_ttft * 1000:8.1f} ms ({len(cold)} prompts)")
    print(f"median TTFT cached: {cached_ttft * 1000:8.1f} ms ({len(cached)} requests)")
    verdict = "met" if ratio <= TARGET_RATIO else "MISSED"
    print(f"cached / cold TTFT: {ratio:.3f} (target <= {TARGET_RATIO}: {verdict})")
    print(
        f"usage.prompt_tokens_details.cached_tokens on cached requests: "
        f"{', '.join(map(str, cached_tokens))} of {prompt_tokens} prompt tokens"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
