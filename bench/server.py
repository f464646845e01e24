"""Shared pieces of the HTTP benchmarks: start an `openscope serve` subprocess on a free
127.0.0.1 port with a given `[backends.embedded]` options table, and stream one chat
completion through the OpenAI-compatible API, timing its first content token.

Not a benchmark itself; `bench/run.py`, `bench/concurrency.py`, `bench/cache.py` and
`bench/memory.py` import it (run them as `python bench/<name>.py`, which puts `bench/` on
the import path).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx

MODEL = "smollm2-135m-instruct"
CHAT_PATH = "/compatible-mode/v1/chat/completions"
API_KEY = "sk-bench"

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def embedded_config(options: Mapping[str, object]) -> str:
    """The TOML file for an embedded llama.cpp backend with `options` (ints, floats,
    bools and strings; options the engine does not know are ignored by it)."""
    lines = ["[backends.embedded]", 'type = "llamacpp"']
    for name, value in options.items():
        if isinstance(value, bool):
            rendered = "true" if value else "false"
        elif isinstance(value, int | float):
            rendered = repr(value)
        elif isinstance(value, str):
            rendered = json.dumps(value)  # a TOML basic string for anything printable
        else:
            raise TypeError(f"option {name}: unsupported value {value!r}")
        lines.append(f"{name} = {rendered}")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Server:
    base: str  # http://127.0.0.1:<port>
    host: str
    port: int
    key: str
    process: subprocess.Popen[bytes]
    chat_path: str = CHAT_PATH  # "/v1/chat/completions" reaches openscope and llama-server
    name: str = "openscope"

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    @property
    def chat_url(self) -> str:
        return self.base + self.chat_path


@contextmanager
def serve(
    options: Mapping[str, object],
    *,
    startup_timeout: float = 90.0,
    log_level: str = "warning",
) -> Iterator[Server]:
    """An openscope server on 127.0.0.1 whose embedded backend gets `options`, healthy on
    entry and terminated (killed if it will not stop) on exit, whatever happens."""
    with serve_config(
        embedded_config(options), startup_timeout=startup_timeout, log_level=log_level
    ) as server:
        yield server


@contextmanager
def serve_config(
    config_text: str,
    *,
    startup_timeout: float = 90.0,
    log_level: str = "warning",
    launcher: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> Iterator[Server]:
    """An openscope server on 127.0.0.1 with the settings file `config_text`, started
    through `launcher` (say `taskset -c 0`) with `env` added to a clean environment;
    healthy on entry and stopped on exit, whatever happens."""
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OPENSCOPE_")}
    with tempfile.TemporaryDirectory(prefix="openscope-bench-") as scratch:
        config = Path(scratch) / "openscope.toml"
        config.write_text(config_text)
        command = [
            *launcher,
            sys.executable, "-m", "openscope", "serve",
            "--host", "127.0.0.1", "--port", str(port), "--api-key", API_KEY,
            "--config", str(config), "--data-dir", str(Path(scratch) / "data"),
            "--log-level", log_level,
        ]  # fmt: skip
        process = subprocess.Popen(command, env={**clean, **(env or {})}, cwd=scratch)
        server = Server(f"http://127.0.0.1:{port}", "127.0.0.1", port, API_KEY, process)
        try:
            wait_healthy(server, startup_timeout)
            yield server
        finally:
            stop(process)


@contextmanager
def checked_out(revision: str) -> Iterator[Path]:
    """`revision`'s `src/`, in a temporary git worktree removed on exit (served with this
    tree's virtual environment, to compare against it)."""
    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory(prefix="openscope-rev-") as scratch:
        tree = Path(scratch) / "tree"
        git = ["git", "-C", str(root), "worktree"]
        subprocess.run(
            [*git, "add", "--detach", str(tree), revision], check=True, capture_output=True
        )
        try:
            yield tree / "src"
        finally:
            subprocess.run([*git, "remove", "--force", str(tree)], check=False, capture_output=True)


def pinned_to_core_0() -> list[str]:
    """A launcher that keeps a server on core 0 (the clients get the other cores), where
    `taskset` exists."""
    return ["taskset", "-c", "0"] if shutil.which("taskset") else []


def wait_healthy(server: Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            code = server.process.returncode
            raise RuntimeError(f"{server.name} exited with {code} on startup")
        try:
            if httpx.get(f"{server.base}/health", timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{server.name} was not healthy within {timeout:.0f} s")


def stop(process: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def chat_body(messages: list[dict[str, str]], max_tokens: int, **extra: Any) -> dict[str, Any]:
    """A greedy streaming request that reports usage in its last chunk."""
    return {
        "model": MODEL,
        "messages": messages,
        "max_tokens": max_tokens,
        "temperature": 0,
        "stream": True,
        "stream_options": {"include_usage": True},
        **extra,
    }


def user(prompt: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": prompt}]


@dataclass(frozen=True)
class StreamResult:
    status: int
    seconds: float  # request sent -> stream finished
    ttft: float | None  # request sent -> first non-empty content delta
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    text: str = ""
    retry_after: str | None = None
    # After a 200: the error frame (`data: {"error": ...}`) the stream ended with, or with
    # `stream_chat(..., catch=True)` the transport error that cut it; and whether it ended
    # with `data: [DONE]`.
    error: str | None = None
    done: bool = False

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.ttft is not None

    @property
    def complete(self) -> bool:
        """A 200 stream that ended with [DONE] and no error frame."""
        return self.status == 200 and self.done and self.error is None


async def stream_chat(
    client: httpx.AsyncClient, server: Server, body: Mapping[str, Any], *, catch: bool = False
) -> StreamResult:
    """POST a streaming chat completion and read it to the end. Timeouts are the client's
    (give it a `httpx.Timeout`); a non-200 answer comes back with its status and no time
    to first token. A transport error (a timeout too) raises, unless `catch` and the
    answer was already a 200: then the result carries it as `error`."""
    started = time.perf_counter()
    ttft: float | None = None
    usage: dict[str, Any] = {}
    text: list[str] = []
    error: str | None = None
    done = False
    async with client.stream("POST", server.chat_url, json=body, headers=server.headers) as r:
        if r.status_code != 200:
            await r.aread()
            return StreamResult(
                r.status_code,
                time.perf_counter() - started,
                None,
                retry_after=r.headers.get("retry-after"),
            )
        lines = r.aiter_lines()
        while True:
            try:
                line = await anext(lines)
            except StopAsyncIteration:
                break
            except httpx.TransportError as exc:
                if not catch:
                    raise
                error = f"{type(exc).__name__} after the 200: {exc}"
                break
            if line.startswith("data: [DONE]"):
                done = True
                continue
            if not line.startswith("data: {"):
                continue
            chunk = json.loads(line[6:])
            if chunk.get("error"):
                error = json.dumps(chunk["error"])[:300]
            for choice in chunk.get("choices") or ():
                content = (choice.get("delta") or {}).get("content")
                if content:
                    if ttft is None:
                        ttft = time.perf_counter() - started
                    text.append(content)
            if chunk.get("usage"):
                usage = chunk["usage"]
    details = usage.get("prompt_tokens_details") or {}
    return StreamResult(
        200,
        time.perf_counter() - started,
        ttft,
        prompt_tokens=int(usage.get("prompt_tokens", 0)),
        completion_tokens=int(usage.get("completion_tokens", 0)),
        cached_tokens=int(details.get("cached_tokens", 0)),
        text="".join(text),
        error=error,
        done=done,
    )


async def gather_within(limit: float, *work: Awaitable[T]) -> list[T | BaseException | None]:
    """Run `work` concurrently for at most `limit` seconds. Each comes back as its result,
    the exception it raised, or None when it had not finished in time (it is cancelled)."""
    tasks = [asyncio.ensure_future(w) for w in work]
    try:
        await asyncio.wait(tasks, timeout=limit)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    outcomes: list[T | BaseException | None] = []
    for task in tasks:
        if task.cancelled():
            outcomes.append(None)
        elif task.exception() is not None:
            outcomes.append(task.exception())
        else:
            outcomes.append(task.result())
    return outcomes


def read_status(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM and friends of a process from /proc/<pid>/status, in KiB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name.startswith("Vm") and rest.strip().endswith("kB"):
            values[name] = int(rest.split()[0])
    return values
