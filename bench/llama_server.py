"""The embedded engine against llama.cpp's own `llama-server` on the same GGUF, threads and
parallel sequences, each through its HTTP API (/v1/chat/completions), measured in one run:
single-stream and aggregate decode speed as openscope / llama-server ratios.

    bash bench/build_llama_server.sh                  # once: ~8 minutes on 2 cores, cached
    .venv/bin/python bench/llama_server.py            # 128 tokens, 1, 8 and 32 streams
    .venv/bin/python bench/llama_server.py --quick    # 32 tokens, 1, 2 and 4 streams (smoke)
    .venv/bin/python bench/llama_server.py --llama-server /path/to/llama-server

The llama-server is the one bench/build_llama_server.sh builds from the llama.cpp tree that
the llama-cpp-python sdist of the version installed in .venv vendors (so the two run the
same llama.cpp), cached in ~/.cache/openscope-bench/llama-server-<version>/bin
(OPENSCOPE_BENCH_CACHE moves the cache root); `--llama-server` names another one.

The two servers run one after the other, never together (the cores are shared):

- openscope: `openscope serve`, embedded backend with n_threads `--threads` and parallel
  `--parallel` (its other options default: 4096 tokens of context per request, 64 waiting);
- llama-server: `-m <the same GGUF> -t/-tb <threads> --parallel <parallel>
  -c <parallel * 4096> --no-kv-unified --flash-attn on`. With --parallel and no
  --kv-unified, llama-server splits -c evenly across its slots, so each gets 4096 tokens
  like an openscope request (its log's `n_ctx_slot` is printed to show it); flash attention
  on as openscope's engine has it.

Each server gets one warm-up request, then the same prompts in the same order, all
distinct, greedy: `--runs` single streams one after another (median of usage
completion_tokens / request wall time), then for each count in `--streams` above 1 that
many streams started together (all their completion tokens / the batch's wall time).
llama-server gets `ignore_eos` so it writes all `--tokens` tokens; openscope cannot ignore
the end of a sequence, so its prompts ask for long stories and its real tokens are counted
(the fill, tokens written / asked, is printed next to each figure).

Targets (openscope / llama-server): >= 1.0 at 1 and at 8 streams, >= 1.1 at 32; other
counts are printed without one. Exits 1 when a request failed, 2 when the binary is missing.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import importlib.metadata
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from concurrency import Prompts
from server import (
    API_KEY,
    Server,
    StreamResult,
    chat_body,
    free_port,
    gather_within,
    serve,
    stop,
    stream_chat,
    user,
    wait_healthy,
)

V1_CHAT = "/v1/chat/completions"
CTX_PER_SLOT = 4096  # what an openscope request gets by default (ctx_per_seq)
TARGETS = {1: 1.0, 8: 1.0, 32: 1.1}


def default_binary() -> Path:
    version = importlib.metadata.version("llama-cpp-python")
    root = Path(os.environ.get("OPENSCOPE_BENCH_CACHE", Path.home() / ".cache/openscope-bench"))
    return root / f"llama-server-{version}" / "bin" / "llama-server"


@contextmanager
def llama_server(binary: Path, threads: int, parallel: int) -> Iterator[tuple[Server, Path]]:
    """llama-server on a free 127.0.0.1 port, healthy on entry, stopped on exit; with the
    file its log goes to."""
    from openscope.backends.llamacpp.model_file import embedded_model_path

    port = free_port()
    with tempfile.TemporaryDirectory(prefix="openscope-bench-llama-server-") as scratch:
        log = Path(scratch) / "llama-server.log"
        command = [
            str(binary),
            "-m",
            str(embedded_model_path()),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--api-key",
            API_KEY,
            "-t",
            str(threads),
            "-tb",
            str(threads),
            "--parallel",
            str(parallel),
            "-c",
            str(parallel * CTX_PER_SLOT),
            "--no-kv-unified",
            "--flash-attn",
            "on",
        ]
        with log.open("wb") as sink:
            process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
            server = Server(
                f"http://127.0.0.1:{port}",
                "127.0.0.1",
                port,
                API_KEY,
                process,
                chat_path=V1_CHAT,
                name="llama-server",
            )
            try:
                try:
                    wait_healthy(server, 120.0)
                except (RuntimeError, TimeoutError):
                    sys.stderr.write(log.read_text(errors="replace")[-3000:])
                    raise
                yield server, log
            finally:
                stop(process)


def slot_line(log: Path) -> str:
    for line in log.read_text(errors="replace").splitlines():
        if "n_ctx_slot" in line:
            return line.strip()
    return "(no n_ctx_slot line in its log)"


@dataclasses.dataclass(frozen=True)
class Figure:
    streams: int
    rate: float  # tokens/s: median single-stream, or a batch's aggregate
    tokens: int
    asked: int
    failures: list[str]

    @property
    def fill(self) -> float:
        return self.tokens / self.asked if self.asked else float("nan")


def failures_of(outcomes: list[StreamResult | BaseException | None]) -> list[str]:
    failures = []
    for o in outcomes:
        if o is None:
            failures.append("unfinished in time")
        elif isinstance(o, BaseException):
            failures.append(f"{type(o).__name__}: {o}")
        elif not o.complete or not o.completion_tokens:
            failures.append(f"HTTP {o.status} {o.error or ''}".strip())
    return failures


async def measure(
    server: Server, args: argparse.Namespace, extra: dict[str, object]
) -> dict[int, Figure]:
    prompts = Prompts()

    def body() -> dict[str, Any]:
        return chat_body(user(prompts.take()), args.tokens, **extra)

    # A fresh connection per request: llama-server closes idle keep-alive connections,
    # and a reused one it has closed fails the next request before it is sent.
    limits = httpx.Limits(max_connections=max(args.streams) + 4, max_keepalive_connections=0)
    timeout = httpx.Timeout(10.0, read=args.timeout)
    figures: dict[int, Figure] = {}
    async with httpx.AsyncClient(timeout=timeout, limits=limits) as client:
        warm = await stream_chat(client, server, body())
        if not warm.complete:
            raise RuntimeError(f"{server.name} warm-up failed: HTTP {warm.status} {warm.error}")
        singles: list[StreamResult | BaseException | None] = []
        for _ in range(args.runs):
            try:
                async with asyncio.timeout(args.timeout):
                    singles.append(await stream_chat(client, server, body(), catch=True))
            except TimeoutError:
                singles.append(None)
        ok = [r for r in singles if isinstance(r, StreamResult) and r.complete]
        rate = statistics.median(r.completion_tokens / r.seconds for r in ok) if ok else 0.0
        tokens = sum(r.completion_tokens for r in ok)
        figures[1] = Figure(1, rate, tokens, args.tokens * len(ok), failures_of(singles))
        report(server.name, figures[1], args.runs)
        for streams in args.streams:
            if streams == 1:
                continue
            bodies = [body() for _ in range(streams)]
            started = time.perf_counter()
            outcomes = await gather_within(
                args.timeout, *(stream_chat(client, server, b, catch=True) for b in bodies)
            )
            wall = time.perf_counter() - started
            ok = [o for o in outcomes if isinstance(o, StreamResult) and o.complete]
            tokens = sum(r.completion_tokens for r in ok)
            figures[streams] = Figure(
                streams, tokens / wall, tokens, args.tokens * streams, failures_of(outcomes)
            )
            report(server.name, figures[streams], args.runs)
    return figures


def report(name: str, figure: Figure, runs: int) -> None:
    what = f"median of {runs}" if figure.streams == 1 else "aggregate"
    print(
        f"  {name}: {figure.streams:>2} stream(s) {figure.rate:6.1f} tok/s ({what}), "
        f"fill {figure.fill:.2f} ({figure.tokens}/{figure.asked} tokens)",
        flush=True,
    )
    for failure in figure.failures[:3]:
        print(f"    failed: {failure}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--llama-server", type=Path, default=None, help="llama-server binary")
    parser.add_argument("--tokens", type=int, default=128, help="max_tokens of every request")
    parser.add_argument("--runs", type=int, default=3, help="single-stream requests")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--parallel", type=int, default=8)
    parser.add_argument("--streams", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds a batch may take")
    parser.add_argument("--quick", action="store_true", help="32 tokens, 1 run, streams 1 2 4")
    args = parser.parse_args()
    if args.quick:
        args.tokens, args.runs, args.streams = 32, 1, [1, 2, 4]
    binary = args.llama_server or default_binary()
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        print(
            f"error: no llama-server binary at {binary}\n"
            "build it with `bash bench/build_llama_server.sh` (about 8 minutes on 2 cores; "
            "cached afterwards) or name one with --llama-server PATH",
            file=sys.stderr,
        )
        return 2
    if 1 + args.runs + sum(s for s in args.streams if s > 1) > 64:
        parser.error("more requests than distinct prompts (64)")
    version = subprocess.run(
        [str(binary), "--version"], capture_output=True, text=True, timeout=30
    ).stderr.strip()
    print(
        f"openscope vs llama-server through /v1/chat/completions: {args.tokens} tokens greedy, "
        f"{args.threads} threads, parallel {args.parallel}, {CTX_PER_SLOT} tokens per slot",
        flush=True,
    )
    print(f"llama-server: {binary} ({' '.join(version.split())[:120]})", flush=True)

    print("openscope:", flush=True)
    with serve({"n_threads": args.threads, "parallel": args.parallel}) as server:
        server = dataclasses.replace(server, chat_path=V1_CHAT)
        ours = asyncio.run(measure(server, args, {}))
    print("llama-server:", flush=True)
    with llama_server(binary, args.threads, args.parallel) as (server, log):
        print(f"  {slot_line(log)}", flush=True)
        theirs = asyncio.run(measure(server, args, {"ignore_eos": True}))

    for streams in sorted(ours):
        ratio = ours[streams].rate / theirs[streams].rate if theirs[streams].rate else 0.0
        target = TARGETS.get(streams)
        if target is None:
            verdict = "no target"
        else:
            verdict = f"target >= {target}: {'met' if ratio >= target else 'MISSED'}"
        label = "single stream" if streams == 1 else f"aggregate@{streams}"
        print(
            f"{label} openscope / llama-server: {ratio:.2f} ({verdict}); "
            f"{ours[streams].rate:.1f} vs {theirs[streams].rate:.1f} tok/s"
        )
    failed = any(f.failures for f in (*ours.values(), *theirs.values()))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
