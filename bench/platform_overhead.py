"""What the platform costs a request: auth by a stored key, the admit stage's limits and
the meter's ledger row, against the scripted backend (no model), as requests per second and
as the latency each request adds, with the limits counted in this process and in Redis.

    .venv/bin/python bench/platform_overhead.py
    .venv/bin/python bench/platform_overhead.py --baseline 420222b   # and a revision

Servers of this tree, each pinned to core 0 (the clients get the other core): one with the
platform off (`[platform] enabled = false`: the configured key only, no limits, no ledger);
one on, called with a stored key that has RPM/TPM limits far above what the run sends,
metered into the ledger, counted in process; and the same counted in a real redis-server
(`redis-server` on PATH). With `--baseline REV`, that revision as well, for reference.
Rounds alternate the sides so all see the same machine. The load comes from raw keep-alive
sockets replaying one prepared request (httpx on the one other core saturated before the
server did, which hid most of the server's cost). Printed: median requests/s of each side
(`--concurrency` in flight), its ratio to the baseline (targets: >= 0.9 in process, >= 0.7
with Redis), and the p50/p99 latency one request at a time (over httpx) adds over it.
Also the CPU each server process spent per request in the rate rounds (all its threads,
from /proc; the Redis side's redis-server apart): on a machine shared with other work the
requests/s swing with it, the CPU a request costs much less so, and a server pinned to one
core serves at most 1/that.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from overhead import CHAT, CONFIG, MODEL
from server import API_KEY, checked_out, pinned_to_core_0, serve_config

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.redis_server import RedisServer  # noqa: E402

BODY = {
    "model": MODEL,
    "messages": [{"role": "user", "content": "Say something short about the sea, please."}],
    "max_tokens": 64,
}
ADMIN_KEY = "sk-bench-admin-" + secrets.token_hex(8)
# Far above anything the run sends: every request is counted, none refused.
LIMITS = {MODEL: {"rpm": 100_000_000, "tpm": 10_000_000_000}}


def stored_key(base: str) -> str:
    response = httpx.post(
        f"{base}/admin/v1/keys",
        json={"name": "bench", "limits": LIMITS},
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
    )
    response.raise_for_status()
    return str(response.json()["value"])


def request_bytes(base: str, key: str) -> bytes:
    body = json.dumps(BODY).encode()
    host = base.removeprefix("http://")
    head = (
        f"POST {CHAT} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def rate(base: str, key: str, *, requests: int, concurrency: int) -> float:
    """Requests per second from `concurrency` keep-alive connections sending the same
    prepared request and reading each answer by its Content-Length: a client that costs
    little, so the server, not the client, is what is measured (httpx on the other core
    saturated it before the server)."""
    host, port = base.removeprefix("http://").split(":")
    wire = request_bytes(base, key)
    queue = iter(range(requests))

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            for _ in queue:
                writer.write(wire)
                head = await reader.readuntil(b"\r\n\r\n")
                if not head.startswith(b"HTTP/1.1 200"):
                    raise RuntimeError(head.split(b"\r\n", 1)[0].decode())
                length = int(head.lower().split(b"content-length: ", 1)[1].split(b"\r\n", 1)[0])
                await reader.readexactly(length)
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return requests / (time.perf_counter() - started)


def latencies(base: str, key: str, requests: int) -> list[float]:
    """Milliseconds per request, one at a time."""
    out = []
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}) as client:
        for _ in range(requests):
            started = time.perf_counter()
            client.post(CHAT, json=BODY).raise_for_status()
            out.append((time.perf_counter() - started) * 1000)
    return out


def cpu_seconds(pid: int) -> float:
    """The CPU time process `pid` has used so far, all threads (0 where /proc is not)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", help="a git revision to show beside (for reference)")
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--latency-requests", type=int, default=300)
    args = parser.parse_args()
    if shutil.which("redis-server") is None:
        print("redis-server is not installed (apt-get install redis-server)")
        return 2

    with contextlib.ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="platform-")))
        redis_server = RedisServer(scratch)
        redis_server.start()
        stack.callback(redis_server.stop)
        pinned = pinned_to_core_0()
        platform_env = {"PYTHONPATH": str(ROOT / "src"), "OPENSCOPE_ADMIN_KEY": ADMIN_KEY}
        redis_env = {
            **platform_env,
            "OPENSCOPE_REDIS_URL": f"redis://127.0.0.1:{redis_server.port}/0",
        }
        off_config = CONFIG + "\n[platform]\nenabled = false\n"
        off = stack.enter_context(serve_config(off_config, launcher=pinned, env=platform_env))
        local = stack.enter_context(serve_config(CONFIG, launcher=pinned, env=platform_env))
        redis_config = CONFIG + "\n[platform]\nreplicas = 1\n"
        shared = stack.enter_context(serve_config(redis_config, launcher=pinned, env=redis_env))
        sides = {
            "platform off": (off.base, API_KEY),
            "platform, in process": (local.base, stored_key(local.base)),
            "platform, Redis": (shared.base, stored_key(shared.base)),
        }
        pids = {
            "platform off": [off.pid],
            "platform, in process": [local.pid],
            "platform, Redis": [shared.pid],
        }
        assert redis_server.process is not None
        redis_pid = redis_server.process.pid
        if args.baseline:
            tree = stack.enter_context(checked_out(args.baseline))
            baseline = stack.enter_context(
                serve_config(CONFIG, launcher=pinned, env={"PYTHONPATH": str(tree)})
            )
            sides[f"revision {args.baseline}"] = (baseline.base, API_KEY)
            pids[f"revision {args.baseline}"] = [baseline.pid]
        print(
            f"platform overhead, scripted backend, servers on core 0: {args.requests} "
            f"requests x {args.rounds} rounds, {args.concurrency} in flight"
        )
        for base, key in sides.values():  # warm-up
            asyncio.run(rate(base, key, requests=50, concurrency=args.concurrency))
        rates: dict[str, list[float]] = {side: [] for side in sides}
        waits: dict[str, list[float]] = {side: [] for side in sides}
        cpu: dict[str, float] = dict.fromkeys(sides, 0.0)
        redis_cpu = 0.0
        for _ in range(args.rounds):
            for side, (base, key) in sides.items():
                before = sum(map(cpu_seconds, pids[side]))
                redis_before = cpu_seconds(redis_pid)
                rates[side].append(
                    asyncio.run(
                        rate(base, key, requests=args.requests, concurrency=args.concurrency)
                    )
                )
                cpu[side] += sum(map(cpu_seconds, pids[side])) - before
                if side == "platform, Redis":
                    redis_cpu += cpu_seconds(redis_pid) - redis_before
                waits[side] += latencies(base, key, args.latency_requests // args.rounds)
    (without, *_) = sides
    served = args.requests * args.rounds
    per_request = {side: cpu[side] / served * 1e6 for side in sides}  # us
    base_rate = statistics.median(rates[without])
    base_p50, base_p99 = percentile(waits[without], 0.5), percentile(waits[without], 0.99)
    targets = {"platform, in process": 0.9, "platform, Redis": 0.7}
    for side in sides:
        median = statistics.median(rates[side])
        p50, p99 = percentile(waits[side], 0.5), percentile(waits[side], 0.99)
        rounds = " ".join(f"{value:.0f}" for value in rates[side])
        line = f"{side:>22}: {median:7.1f} req/s ({rounds})  p50 {p50:5.2f} ms  p99 {p99:5.2f} ms"
        if side in targets:
            ratio = median / base_rate
            verdict = "met" if ratio >= targets[side] else "MISSED"
            line += (
                f"  ratio {ratio:.2f} (target >= {targets[side]}: {verdict})"
                f"  added p50 {p50 - base_p50:+.2f} ms, p99 {p99 - base_p99:+.2f} ms"
            )
        print(line)
    print("server CPU per request (rate rounds):")
    for side in sides:
        line = f"{side:>22}: {per_request[side]:6.0f} us"
        if side != without and per_request[side]:
            line += f"  (+{per_request[side] - per_request[without]:.0f} us; off/on "
            line += f"{per_request[without] / per_request[side]:.2f})"
        if side == "platform, Redis":
            line += f"  and redis-server {redis_cpu / served * 1e6:.0f} us"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
