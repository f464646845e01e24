"""Start the test MCP server (`server_app.py`) in a subprocess on a free 127.0.0.1 port and
wait until it listens; stopped by its process id."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

APP = Path(__file__).with_name("server_app.py")
PATHS = {"sse": "/sse", "streamable-http": "/mcp"}
PROTOCOLS = {"sse": "sse", "streamable-http": "streamable_http"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def mcp_server(transport: str) -> Iterator[str]:
    """The URL of a running test server over `transport` ("sse" or "streamable-http")."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(APP), transport, str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the test MCP server ({transport}) did not start") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}{PATHS[transport]}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
