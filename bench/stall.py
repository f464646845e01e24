"""Does one hostile client slow everybody else down? A victim stream's decode speed through
openscope's HTTP API alone, and while another client keeps sending a request with 60,000
stop strings, and while another keeps sending a 7 MB prompt.

    .venv/bin/python bench/stall.py                 # 128 tokens, 3 victim runs per case
    .venv/bin/python bench/stall.py --quick         # 1 victim run per case (a smoke run)

Starts `openscope serve` on 127.0.0.1 with the embedded engine's default settings (but
n_threads `--threads`, when given) and sends one warm-up request. The victim is a greedy
streaming chat completion of `--tokens` tokens (its own prompt every run, so no cached
prefix helps it); its speed is usage.completion_tokens / the request's wall time, median
of `--runs` runs one after the other. In each hostile case a second client, on its own
connection, sends its request over and over, one at a time, for as long as the victim
runs (the body is encoded once; back to back unless `--hostile-pause`; at most
`--hostile-cap` requests):

- stops: a streaming chat completion with `--stops` distinct stop strings that never
  occur (about 1 MB of JSON);
- prompt: a streaming chat completion whose single user message is `--prompt-mb` MB of
  text (under the server's 16 MiB body cap).

On this 2-core machine the hostile client's own CPU (sending megabytes back to back) is
taken from the engine's two decode threads, whatever the server does with its requests;
`--clients-nice 19` runs the clients below the server, as a client on another machine
would be, so what is left is the server's own cost of each hostile request.

Printed: the victim's tokens/s in each case and its ratio to alone (target >= 0.8), and
what the hostile requests got: how many were sent, their statuses (or "timeout", or the
error that cut them) and how long they took. A hardened server refuses both with a 400 in
milliseconds; one that serves them shows here what that costs the others. Also printed:
the CPU seconds the server and this bench used in each case (2 cores give 2 s a second),
so a refusal that is quick but sent back to back shows what it costs. Exits 1 when a
victim run failed or timed out; a missed target is printed, not an exit code.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from concurrency import Prompts
from server import MODEL, Server, chat_body, serve, stream_chat, user

TARGET_RATIO = 0.8
FILLER = "the quick brown fox jumps over a lazy dog near river bank at dawn"


@dataclass
class Hostile:
    name: str
    body: bytes
    outcomes: list[tuple[str, float]] = field(default_factory=list)  # (status, seconds)
    first_reply: str = ""
    capped: bool = False  # stopped at --hostile-cap before the victim was done

    def summary(self) -> str:
        if not self.outcomes:
            return "none finished"
        statuses = Counter(status for status, _ in self.outcomes)
        seconds = sorted(s for _, s in self.outcomes)
        shown = ", ".join(f"{status} x{count}" for status, count in statuses.most_common())
        return (
            f"{len(self.outcomes)} sent ({len(self.body) / 1e6:.1f} MB each): {shown}; "
            f"median {statistics.median(seconds) * 1000:.0f} ms, max {seconds[-1] * 1000:.0f} ms"
            + (" (stopped at the cap before the victim was done)" if self.capped else "")
        )


def stops_body(count: int, tokens: int) -> bytes:
    stops = [f"zq{i:05d}-never-seen" for i in range(count)]
    body = chat_body(user("Write a long story about a dragon."), tokens, stop=stops)
    return json.dumps(body).encode()


def prompt_body(megabytes: float, tokens: int) -> bytes:
    rng = random.Random(7)
    words = FILLER.split()
    size = int(megabytes * 1_000_000)
    chunks: list[str] = []
    written = 0
    while written < size:
        sentence = " ".join(rng.choice(words) for _ in range(12)) + ". "
        chunks.append(sentence)
        written += len(sentence)
    text = "".join(chunks)[:size]
    return json.dumps(chat_body(user(text), tokens)).encode()


async def send_hostile(
    server: Server,
    hostile: Hostile,
    stop: asyncio.Event,
    args: argparse.Namespace,
) -> None:
    """`hostile`'s request again and again, `--hostile-pause` seconds apart, until `stop`
    is set or `--hostile-cap` were sent."""
    headers = {**server.headers, "Content-Type": "application/json"}
    async with httpx.AsyncClient(timeout=httpx.Timeout(10.0, read=args.timeout)) as client:
        while not stop.is_set() and len(hostile.outcomes) < args.hostile_cap:
            started = time.perf_counter()
            try:
                async with client.stream(
                    "POST", server.chat_url, content=hostile.body, headers=headers
                ) as r:
                    reply = await r.aread()
                status = str(r.status_code)
                if not hostile.first_reply:
                    hostile.first_reply = reply[:200].decode(errors="replace")
            except httpx.TimeoutException:
                status = "timeout"
            except httpx.TransportError as exc:
                status = type(exc).__name__
            hostile.outcomes.append((status, time.perf_counter() - started))
            if args.hostile_pause:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), args.hostile_pause)
        hostile.capped = not stop.is_set()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def victim_rates(
    client: httpx.AsyncClient, server: Server, prompts: Prompts, args: argparse.Namespace
) -> list[float]:
    rates = []
    for _ in range(args.runs):
        body = chat_body(user(prompts.take()), args.tokens)
        try:
            async with asyncio.timeout(args.timeout):
                result = await stream_chat(client, server, body, catch=True)
        except TimeoutError:
            print(f"    victim run timed out after {args.timeout:.0f} s", flush=True)
            rates.append(0.0)
            continue
        if not result.complete:
            print(f"    victim run failed: HTTP {result.status} {result.error}", flush=True)
            rates.append(0.0)
            continue
        rates.append(result.completion_tokens / result.seconds)
    return rates


async def case(
    client: httpx.AsyncClient,
    server: Server,
    prompts: Prompts,
    hostile: Hostile | None,
    args: argparse.Namespace,
) -> tuple[float, int]:
    """The victim's median tokens/s in this case, and how many of its runs failed."""
    wall, server_cpu, own_cpu = time.perf_counter(), cpu_seconds(server.pid), time.process_time()
    if hostile is None:
        rates = await victim_rates(client, server, prompts, args)
    else:
        stop = asyncio.Event()
        sender = asyncio.create_task(send_hostile(server, hostile, stop, args))
        await asyncio.sleep(0.5)  # its first request is on the wire before the victim's
        try:
            rates = await victim_rates(client, server, prompts, args)
        finally:
            stop.set()
            sender.cancel()  # one still in flight is abandoned: the server sees it leave
            await asyncio.gather(sender, return_exceptions=True)
    wall = time.perf_counter() - wall
    server_cpu = cpu_seconds(server.pid) - server_cpu
    own_cpu = time.process_time() - own_cpu
    if hostile is not None:
        await asyncio.sleep(1.0)  # let the server drop what it was doing for it
    shown = ", ".join(f"{r:.1f}" for r in rates)
    rate = statistics.median(rates)
    label = "alone" if hostile is None else f"with {hostile.name}"
    print(f"victim {label}: {rate:6.1f} tok/s (median of {shown})", flush=True)
    print(
        f"  CPU over the case's {wall:.1f} s: server {server_cpu:.1f} s, "
        f"this bench (victim and hostile clients) {own_cpu:.1f} s",
        flush=True,
    )
    if hostile is not None:
        print(f"  hostile {hostile.name}: {hostile.summary()}", flush=True)
        if hostile.first_reply:
            print(f"  first reply: {hostile.first_reply!r}", flush=True)
    return rate, rates.count(0.0)


async def bench(server: Server, args: argparse.Namespace) -> int:
    prompts = Prompts()
    hostiles = [
        Hostile(f"{args.stops} stop strings", stops_body(args.stops, args.tokens)),
        Hostile(f"a {args.prompt_mb:g} MB prompt", prompt_body(args.prompt_mb, args.tokens)),
    ]
    async with httpx.AsyncClient(timeout=httpx.Timeout(10.0, read=args.timeout)) as client:
        warm = await stream_chat(client, server, chat_body(user(prompts.take()), args.tokens))
        if not warm.complete:
            raise RuntimeError(f"warm-up request failed: HTTP {warm.status} {warm.error}")
        alone, failed = await case(client, server, prompts, None, args)
        ratios = []
        for hostile in hostiles:
            rate, failures = await case(client, server, prompts, hostile, args)
            failed += failures
            ratios.append((hostile.name, rate / alone if alone else float("nan")))
    for name, ratio in ratios:
        ok = ratio >= TARGET_RATIO
        print(
            f"victim with {name} / alone: {ratio:.2f} "
            f"(target >= {TARGET_RATIO}: {'met' if ok else 'MISSED'})"
        )
    return failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=128, help="max_tokens of every request")
    parser.add_argument("--runs", type=int, default=3, help="victim runs per case")
    parser.add_argument("--stops", type=int, default=60_000, help="stop strings of one request")
    parser.add_argument("--prompt-mb", type=float, default=7.0, help="MB of one prompt")
    parser.add_argument("--hostile-cap", type=int, default=5000, help="hostile requests per case")
    parser.add_argument(
        "--hostile-pause",
        type=float,
        default=0.0,
        help="seconds between hostile requests (default 0: back to back)",
    )
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds a request may take")
    parser.add_argument(
        "--threads", type=int, default=0, help="the backend's n_threads (default: its own)"
    )
    parser.add_argument("--quick", action="store_true", help="1 victim run per case")
    parser.add_argument(
        "--clients-nice",
        type=int,
        default=0,
        help="the nice value this bench's clients run at once the server has started (the "
        "server keeps its own): 19 stands for a hostile client on another machine, whose "
        "CPU is not the server's to lose (default 0: they take the same cores at the "
        "same priority)",
    )
    args = parser.parse_args()
    if args.quick:
        args.runs = 1
    print(
        f"stall through HTTP: victim {args.tokens} tokens greedy, {args.runs} runs a case, "
        f"model {MODEL}, backend n_threads {args.threads or 'default'}, otherwise default; "
        f"clients at nice {args.clients_nice}",
        flush=True,
    )
    with serve({"n_threads": args.threads} if args.threads else {}) as server:
        if args.clients_nice:
            # This thread only (Linux's setpriority): the server process was started before.
            os.setpriority(os.PRIO_PROCESS, 0, args.clients_nice)
        failed = asyncio.run(bench(server, args))
    return 1 if failed else 0  # a missed target is a measurement; a failed victim is not


if __name__ == "__main__":
    sys.exit(main())
