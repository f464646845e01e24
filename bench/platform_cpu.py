"""What the platform costs a request in CPU, with no network and no server process: the app
driven in this process through ASGI, `--concurrency` chat requests at a time against the
scripted backend, as CPU microseconds per request (all threads: the ledger's database
thread too), platform off and on (a stored key with limits, counted in process and, with
`--redis URL`, in that Redis). The lowest of `--batches` timed batches per side, sides
alternating over `--rounds`: on a machine shared with other work, the least disturbed
batch is the steadiest figure (bench/platform_overhead.py measures the served requests/s).

    .venv/bin/python bench/platform_cpu.py
    .venv/bin/python bench/platform_cpu.py --redis redis://127.0.0.1:6379/0
    .venv/bin/python bench/platform_cpu.py --profile in-process   # and a cProfile of it

`--profile SIDE` writes `platform-<side>.prof` (pstats) of one more batch of that side.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import uvloop

from overhead import CHAT, CONFIG, MODEL
from platform_overhead import ADMIN_KEY, BODY, LIMITS

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
from openscope.server.app import create_app  # noqa: E402
from openscope.settings import load_settings  # noqa: E402

CONFIGURED_KEY = "sk-bench"
Asgi = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


async def ask(app: Asgi, path: str, key: str, body: bytes) -> tuple[int, bytes]:
    """One POST through the app: its status and body."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"authorization", b"Bearer " + key.encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }
    sent = False
    answer: dict[str, Any] = {"status": 0, "body": b""}

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client never leaves
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        elif message["type"] == "http.response.body":
            answer["body"] += message.get("body", b"")

    await app(scope, receive, send)
    return answer["status"], answer["body"]


async def started(app: Asgi) -> Callable[[], Awaitable[None]]:
    """Run the app's lifespan startup; what stops it."""
    inbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    lifespan = asyncio.ensure_future(
        app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, inbox.get, outbox.put)
    )
    await inbox.put({"type": "lifespan.startup"})
    if (await outbox.get())["type"] != "lifespan.startup.complete":
        raise RuntimeError("the app did not start")

    async def stop() -> None:
        await inbox.put({"type": "lifespan.shutdown"})
        await outbox.get()
        await lifespan

    return stop


async def side_cpu(
    side: str,
    redis_url: str | None,
    args: argparse.Namespace,
    scratch: Path,
    counting: Callable[[bool], None] | None = None,
    slowdown: float = 1.0,
) -> list[float]:
    """CPU microseconds per request of each timed batch of `side` (and a profile of one
    more, if asked). `counting` is told True before each timed batch and False after it
    (bench/platform_instructions.py counts the instructions in between). `slowdown`: how
    many times slower than usual this process runs (under valgrind), so the platform's
    periodic work (a stored key read again each second, the ledger written every quarter
    second) is spread as far apart in requests as it is at full speed."""
    platform = {
        "off": "\n[platform]\nenabled = false\n",
        "in-process": "\n[platform]\n",
        "redis": "\n[platform]\nreplicas = 1\n",
    }[side]
    if side != "off" and slowdown != 1.0:
        platform += f"auth_cache_seconds = {slowdown}\nusage_write_seconds = {0.25 * slowdown}\n"
    config = scratch / f"{side}.toml"
    config.write_text(CONFIG + platform)
    env = {"OPENSCOPE_ADMIN_KEY": ADMIN_KEY}
    if side == "redis":
        assert redis_url is not None
        env["OPENSCOPE_REDIS_URL"] = redis_url
    settings = load_settings(
        config, env=env, overrides={"data_dir": scratch / side, "api_key": CONFIGURED_KEY}
    )
    app: Asgi = create_app(settings)
    stop = await started(app)
    try:
        key = CONFIGURED_KEY
        if side != "off":
            made = json.dumps({"name": "bench", "limits": LIMITS}).encode()
            status, body = await ask(app, "/admin/v1/keys", ADMIN_KEY, made)
            if status != 200:
                raise RuntimeError(f"creating the key: {status} {body[:200]!r}")
            key = json.loads(body)["value"]
        request = json.dumps(BODY).encode()

        async def batch(requests: int) -> None:
            async def one_connection(count: int) -> None:
                for _ in range(count):
                    status, body = await ask(app, CHAT, key, request)
                    if status != 200:
                        raise RuntimeError(f"{side}: {status} {body[:200]!r}")

            share = requests // args.concurrency
            await asyncio.gather(*(one_connection(share) for _ in range(args.concurrency)))

        await batch(args.requests)  # warm-up
        timed = []
        for _ in range(args.batches):
            if counting is not None:
                counting(True)
            before = time.process_time()
            await batch(args.requests)
            timed.append((time.process_time() - before) / args.requests * 1e6)
            if counting is not None:
                counting(False)
        if args.profile == side:
            profile = cProfile.Profile()
            profile.enable()
            await batch(args.requests)
            profile.disable()
            profile.dump_stats(f"platform-{side}.prof")
        return timed
    finally:
        await stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", help="a Redis URL: also the side counting there")
    parser.add_argument("--requests", type=int, default=1000, help="per timed batch")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--batches", type=int, default=6, help="timed batches per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", choices=["off", "in-process", "redis"])
    args = parser.parse_args()
    sides = ["off", "in-process"] + (["redis"] if args.redis else [])
    print(
        f"platform CPU per request, in process over ASGI, scripted backend ({MODEL}): "
        f"{args.requests} requests x {args.batches} batches x {args.rounds} rounds, "
        f"{args.concurrency} in flight"
    )
    cpu: dict[str, list[float]] = {side: [] for side in sides}
    with tempfile.TemporaryDirectory(prefix="platform-cpu-") as scratch:
        for n in range(args.rounds):
            for side in sides:
                directory = Path(scratch) / f"round-{n}"
                directory.mkdir(exist_ok=True)
                cpu[side] += uvloop.run(side_cpu(side, args.redis, args, directory))
    base = min(cpu["off"])
    for side in sides:
        least = min(cpu[side])
        line = f"{side:>11}: {least:6.1f} us a request (lowest batch)"
        if side != "off":
            line += f"  +{least - base:.1f} us  (off/on {base / least:.2f})"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
