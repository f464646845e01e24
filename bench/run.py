"""Single-stream decode speed through openscope's HTTP API, as a ratio to llama-cpp-python's
own `create_chat_completion` on the same model, prompt and threads, measured in this run.

    make bench            # or: .venv/bin/python bench/run.py --tokens 128 --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import httpx

PROMPT = "Write a long story about a lighthouse keeper who finds a message in a bottle."
MODEL = "smollm2-135m-instruct"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def baseline(tokens: int, runs: int, threads: int) -> float:
    from llama_cpp import Llama

    from openscope.backends.llamacpp.model_file import embedded_model_path

    llm = Llama(str(embedded_model_path()), n_ctx=8192, n_threads=threads, verbose=False)
    rates = []
    for _ in range(runs + 1):  # the first run warms up
        started = time.perf_counter()
        out = llm.create_chat_completion(
            [{"role": "user", "content": PROMPT}], max_tokens=tokens, temperature=0.0
        )
        elapsed = time.perf_counter() - started
        rates.append(out["usage"]["completion_tokens"] / elapsed)
    llm.close()
    return statistics.median(rates[1:])


def ours(tokens: int, runs: int, threads: int) -> float:
    port, key = free_port(), "sk-bench"
    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as config:
        config.write(f'[backends.embedded]\ntype = "llamacpp"\nn_threads = {threads}\n')
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "openscope",
            "serve",
            "--port",
            str(port),
            "--api-key",
            key,
            "--config",
            config.name,
            "--data-dir",
            tempfile.mkdtemp(),
            "--log-level",
            "warning",
        ],
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        body = {
            "model": MODEL,
            "messages": [{"role": "user", "content": PROMPT}],
            "max_tokens": tokens,
            "temperature": 0,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        rates = []
        with httpx.Client(timeout=120, headers={"Authorization": f"Bearer {key}"}) as client:
            for _ in range(runs + 1):
                started = time.perf_counter()
                completion_tokens = 0
                with client.stream(
                    "POST", f"{base}/compatible-mode/v1/chat/completions", json=body
                ) as response:
                    for line in response.iter_lines():
                        if line.startswith("data: {") and '"usage":{' in line:
                            completion_tokens = json.loads(line[6:])["usage"]["completion_tokens"]
                elapsed = time.perf_counter() - started
                rates.append(completion_tokens / elapsed)
        return statistics.median(rates[1:])
    finally:
        server.terminate()
        server.wait(10)
        os.unlink(config.name)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    base = baseline(args.tokens, args.runs, args.threads)
    mine = ours(args.tokens, args.runs, args.threads)
    print(f"llama-cpp-python create_chat_completion, in-process: {base:6.1f} tok/s")
    print(f"openscope, HTTP stream end to end:                   {mine:6.1f} tok/s")
    print(f"single-stream ratio (openscope / llama-cpp-python): {mine / base:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
