"""What openscope adds in front of an upstream engine: a tiny in-process mock upstream (an
aiohttp server that streams a fixed answer) called directly, and through `openscope serve`
with an `openai_upstream` backend pointed at it, side by side in one run.

    .venv/bin/python bench/upstream_overhead.py
    .venv/bin/python bench/upstream_overhead.py --requests 2000 --concurrency 50

Printed, for both sides: non-streaming requests/s at `--concurrency` in flight, streams/s at
the same concurrency, and the mean latency of one request at a time; then openscope's
figures against the issue's targets (>= 3,500 requests/s, <= +1 ms at one in flight, with
auth on). openscope runs pinned to core 0 (`taskset`), the mock and this client share the
other core; the machine is shared, so read the ratios, not the absolute figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import threading
import time
from pathlib import Path

import aiohttp
from aiohttp import web

from server import API_KEY, Server, free_port, pinned_to_core_0, serve_config

ROOT = Path(__file__).resolve().parent.parent
WORDS = ["Hello", " there", ",", " how", " can", " I", " help", "?"]
MODEL = "mock-upstream"
BODY = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 16}
TARGET_RPS = 3500.0
TARGET_ADDED_MS = 1.0


def chunk(delta: dict[str, object], finish: str | None = None) -> bytes:
    payload = {
        "id": "mock",
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


STREAM = b"".join(
    [chunk({"role": "assistant", "content": ""})]
    + [chunk({"content": w}) for w in WORDS]
    + [chunk({}, "stop")]
    + [
        b"data: "
        + json.dumps(
            {"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": len(WORDS)}}
        ).encode()
        + b"\n\n",
        b"data: [DONE]\n\n",
    ]
)
WHOLE = json.dumps(
    {
        "id": "mock",
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "".join(WORDS)},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 9, "completion_tokens": len(WORDS)},
    }
).encode()


async def completions(request: web.Request) -> web.StreamResponse:
    body = await request.json()
    if not body.get("stream"):
        return web.Response(body=WHOLE, content_type="application/json")
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    await response.write(STREAM)
    await response.write_eof()
    return response


def run_mock(port: int, ready: threading.Event) -> None:
    async def main() -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", completions)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


def openscope(upstream: str) -> contextlib.AbstractContextManager[Server]:
    """openscope on core 0 with one upstream backend: the mock at `upstream`."""
    config = f"""
routes = {{ "{MODEL}" = "up" }}

[backends.up]
type = "openai_upstream"
url = "{upstream}"
dialect = "openai"
"""
    return serve_config(config, launcher=pinned_to_core_0())


async def load(base: str, *, stream: bool, requests: int, concurrency: int) -> float:
    """Requests (or whole streams) per second."""
    headers = {"Authorization": f"Bearer {API_KEY}"}
    body = {**BODY, "stream": stream}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
        todo = iter(range(requests))

        async def worker() -> None:
            for _ in todo:
                async with session.post(f"{base}/chat/completions", json=body) as response:
                    assert response.status == 200, await response.text()
                    await response.read()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return requests / (time.perf_counter() - started)


async def latency(base: str, *, requests: int) -> float:
    """Mean milliseconds of one non-streaming request at a time."""
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        times = []
        for _ in range(requests):
            started = time.perf_counter()
            async with session.post(f"{base}/chat/completions", json=BODY) as response:
                await response.read()
            times.append((time.perf_counter() - started) * 1000)
    return statistics.mean(times[requests // 10 :])  # the first tenth warms up


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--latency-requests", type=int, default=200)
    args = parser.parse_args()

    mock_port = free_port()
    ready = threading.Event()
    threading.Thread(target=run_mock, args=(mock_port, ready), daemon=True).start()
    ready.wait(10)
    direct = f"http://127.0.0.1:{mock_port}/v1"
    with openscope(direct) as gateway:
        sides = {"mock directly": direct, "through openscope": gateway.base + "/compatible-mode/v1"}
        results: dict[str, dict[str, float]] = {}
        for base in sides.values():  # warm-up
            asyncio.run(load(base, stream=False, requests=100, concurrency=10))
        for name, base in sides.items():
            results[name] = {
                "rps": asyncio.run(
                    load(base, stream=False, requests=args.requests, concurrency=args.concurrency)
                ),
                "streams": asyncio.run(
                    load(base, stream=True, requests=args.requests, concurrency=args.concurrency)
                ),
                "ms": asyncio.run(latency(base, requests=args.latency_requests)),
            }
    print(
        f"upstream overhead: {args.requests} requests at {args.concurrency} in flight; "
        f"latency over {args.latency_requests} one at a time"
    )
    for name, r in results.items():
        print(
            f"{name:>18}: {r['rps']:8.1f} req/s  {r['streams']:8.1f} streams/s  "
            f"{r['ms']:6.2f} ms at 1 in flight"
        )
    ours, mock = results["through openscope"], results["mock directly"]
    added = ours["ms"] - mock["ms"]
    rps_verdict = "met" if ours["rps"] >= TARGET_RPS else "MISSED"
    ms_verdict = "met" if added <= TARGET_ADDED_MS else "MISSED"
    print(
        f"openscope / mock: {ours['rps'] / mock['rps']:.2f} req/s, "
        f"{ours['streams'] / mock['streams']:.2f} streams/s"
    )
    print(f"openscope req/s {ours['rps']:.0f} (target >= {TARGET_RPS:.0f}: {rps_verdict})")
    print(f"added latency {added:+.2f} ms (target <= +{TARGET_ADDED_MS:.0f} ms: {ms_verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
