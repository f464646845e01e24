"""Memory under many idle streams: the server's resident memory while 200 streaming chat
completions are held open by a client that never reads past the response headers, and
whether everything past the backend's limits is refused at once.

    .venv/bin/python bench/memory.py                # 200 streams held 15 s
    .venv/bin/python bench/memory.py --streams 200 --hold 15 --threads 2

Starts `openscope serve` on 127.0.0.1 (embedded backend: parallel 8, max_waiting 64,
n_threads 2), sends one warm-up request and reads the server's VmRSS and VmHWM from
/proc/<pid>/status. It then opens `--streams` raw TCP connections at once, each sending a
streaming request for `--max-tokens` tokens (own prompt each), reads only each answer's
status line and headers, closes the refused ones (503) and holds the rest open, unread,
for `--hold` seconds. Then it closes them all, times a fresh request (how long until the
engine is free of what the closed streams asked for?) and reads the RSS once that has
been answered. VmRSS is sampled every 0.5 s from opening the streams to that last read.
The whole run is bounded by `--budget` seconds (default 110) after a startup of at most 45 s.

Reported: how many answered 200, 503 (with Retry-After) or nothing yet (admitted but
still waiting for the engine), the peak RSS growth over the warm-up baseline (the larger
of the sampled peak and VmHWM, if it rose) and the RSS after closing.

The target, 300 MiB, is what the limits should allow, with room to spare. At most
parallel + max_waiting = 72 requests are admitted; the other 128 must be answered 503
at once and cost only a connection (~100 KiB of parser and request state: ~15 MiB).
The KV cache, compute buffers and prefix cache are sized and allocated (llama.cpp clears
them) at startup, before the baseline, so decoding the admitted requests adds no KV. What
may grow is per admitted request: its prompt and bookkeeping (~100 KiB) and the output
waiting for a client that does not read (uvicorn's ~64 KiB transport buffer, plus events
queued behind it: 2,000 tokens at up to ~1 KiB each, ~2 MiB) - about 72 x 2.2 MiB = 160
MiB in the worst case. 300 MiB is that with allocator slack; what it excludes is memory
that scales with the 200 connections (a KV slot or a thread per request: gigabytes).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import dataclass, field

import httpx

from server import CHAT_PATH, Server, chat_body, read_status, serve, stream_chat, user

TARGET_GROWTH_MIB = 300
SAMPLE_SECONDS = 0.5


def prompt(index: int) -> str:
    return f"Story {index}: write a very long tale about a town where it rains numbers."


def raw_request(server: Server, index: int, tokens: int) -> bytes:
    body = json.dumps(chat_body(user(prompt(index)), tokens)).encode()
    head = (
        f"POST {CHAT_PATH} HTTP/1.1\r\n"
        f"Host: {server.host}:{server.port}\r\n"
        f"Authorization: Bearer {server.key}\r\n"
        "Content-Type: application/json\r\n"
        "Accept: text/event-stream\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode() + body


@dataclass
class Stream:
    """One idle client: it reads the status line and headers, then nothing more."""

    index: int
    writer: asyncio.StreamWriter | None = None
    status: int | None = None  # None: no answer yet
    retry_after: str | None = None
    error: str | None = None

    async def run(self, server: Server, tokens: int) -> None:
        try:
            reader, self.writer = await asyncio.wait_for(
                asyncio.open_connection(server.host, server.port), 10
            )
            self.writer.write(raw_request(server, self.index, tokens))
            await self.writer.drain()
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        except (TimeoutError, OSError, asyncio.IncompleteReadError) as error:
            self.error = type(error).__name__
            self.close()
            return
        lines = head.split("\r\n")
        self.status = int(lines[0].split()[1])
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "retry-after":
                self.retry_after = value.strip()
        if self.status != 200:
            self.close()  # a refused client goes away; an accepted one sits on its stream

    def close(self) -> None:
        if self.writer is not None:
            self.writer.transport.abort()
            self.writer = None


@dataclass
class Samples:
    pid: int
    rss: list[tuple[float, int]] = field(default_factory=list)  # (seconds, KiB)

    async def run(self, started: float) -> None:
        while True:
            self.rss.append((time.monotonic() - started, read_status(self.pid)["VmRSS"]))
            await asyncio.sleep(SAMPLE_SECONDS)


def mib(kib: float) -> str:
    return f"{kib / 1024:.1f} MiB"


def tally(streams: list[Stream]) -> str:
    counts = {
        "200": sum(s.status == 200 for s in streams),
        "503": sum(s.status == 503 for s in streams),
        "other": sum(s.status not in (None, 200, 503) for s in streams),
        "no answer yet": sum(s.status is None and s.error is None for s in streams),
        "failed": sum(s.error is not None for s in streams),
    }
    return ", ".join(f"{n} {label}" for label, n in counts.items() if n or label in ("200", "503"))


async def fresh_ttft(server: Server, limit: float) -> float | None:
    """Time to first token of one short request, None when it fails or takes over `limit`."""
    try:
        async with (
            asyncio.timeout(limit),
            httpx.AsyncClient(timeout=httpx.Timeout(10.0, read=limit)) as client,
        ):
            result = await stream_chat(client, server, chat_body(user("Say hello."), 8))
    except (TimeoutError, httpx.HTTPError):
        return None
    return result.ttft if result.ok else None


async def bench(server: Server, args: argparse.Namespace) -> bool:
    if await fresh_ttft(server, 30) is None:
        raise RuntimeError("warm-up request failed")
    await asyncio.sleep(1)
    base = read_status(server.pid)
    print(f"after warm-up: VmRSS {mib(base['VmRSS'])}, VmHWM {mib(base['VmHWM'])}", flush=True)

    started = time.monotonic()
    samples = Samples(server.pid)
    sampler = asyncio.create_task(samples.run(started))
    streams = [Stream(i) for i in range(args.streams)]
    tasks = [asyncio.create_task(s.run(server, args.max_tokens)) for s in streams]
    try:
        await asyncio.wait(tasks, timeout=5)  # refusals should be immediate
        print(f"+{time.monotonic() - started:4.1f} s: {tally(streams)}", flush=True)
        hold_until = started + args.hold
        while (now := time.monotonic()) < hold_until:
            await asyncio.sleep(min(2.0, hold_until - now))
            print(
                f"+{time.monotonic() - started:4.1f} s: VmRSS {mib(samples.rss[-1][1])}; "
                f"{tally(streams)}",
                flush=True,
            )
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for stream in streams:
            stream.close()
    # The engine may still be busy with what the closed streams asked for: a fresh request
    # shows how long until it is free, and the RSS is read once it has been answered.
    await asyncio.sleep(args.settle)
    ttft = await fresh_ttft(server, 60)
    await asyncio.sleep(1)
    sampler.cancel()
    await asyncio.gather(sampler, return_exceptions=True)
    after = read_status(server.pid)

    peak = max(kib for _, kib in samples.rss)
    if after["VmHWM"] > base["VmHWM"]:  # catches a spike between samples
        peak = max(peak, after["VmHWM"])
    growth = (peak - base["VmRSS"]) / 1024
    retry_after = sorted({s.retry_after or "none" for s in streams if s.status == 503})
    print(f"streams at the end of the hold: {tally(streams)}")
    print(f"Retry-After on 503: {', '.join(retry_after) or '-'}")
    print(
        f"RSS: baseline {mib(base['VmRSS'])}, peak {mib(peak)}, after closing {mib(after['VmRSS'])}"
    )
    verdict = "met" if growth < TARGET_GROWTH_MIB else "MISSED"
    print(
        f"peak RSS growth: {growth:.1f} MiB (bounded: target < {TARGET_GROWTH_MIB} MiB: {verdict})"
    )
    print(f"RSS after closing - baseline: {(after['VmRSS'] - base['VmRSS']) / 1024:.1f} MiB")
    if ttft is None:
        print(f"a fresh request {args.settle:.0f} s after closing: no first token within 60 s")
    else:
        print(f"a fresh request {args.settle:.0f} s after closing: first token in {ttft:.2f} s")
    return ttft is not None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=200, help="idle streams to open")
    parser.add_argument("--hold", type=float, default=15.0, help="seconds to hold them open")
    parser.add_argument("--max-tokens", type=int, default=2000, help="max_tokens of each")
    parser.add_argument(
        "--settle", type=float, default=2.0, help="seconds from closing to a fresh request"
    )
    parser.add_argument("--threads", type=int, default=2, help="the backend's n_threads")
    parser.add_argument("--parallel", type=int, default=8, help="the backend's parallel")
    parser.add_argument("--max-waiting", type=int, default=64, help="the backend's max_waiting")
    parser.add_argument(
        "--budget", type=float, default=110.0, help="seconds for the run once started"
    )
    args = parser.parse_args()
    if not 0 < args.hold <= 60 or args.streams > 1000:
        parser.error("--hold must be in (0, 60] and --streams at most 1000")
    options = {
        "parallel": args.parallel,
        "max_waiting": args.max_waiting,
        "n_threads": args.threads,
    }
    print(
        f"{args.streams} idle streams held {args.hold:.0f} s through HTTP, backend {options}",
        flush=True,
    )

    async def bounded(server: Server) -> bool:
        async with asyncio.timeout(args.budget):
            return await bench(server, args)

    with serve(options, startup_timeout=45) as server:
        ok = asyncio.run(bounded(server))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
