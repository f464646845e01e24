"""A real redis-server process for the tests that need one (the Redis limiter's, the
platform's end-to-end ones)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

REDIS_SERVER = shutil.which("redis-server")
NEEDS_REDIS = "needs redis-server: apt-get install redis-server (.ci/run installs it)"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """One redis-server process on a free port, started and stopped at will; its data dir
    survives a stop, so `stop(save=True)` then `start()` keeps the data."""

    def __init__(self, directory: Path) -> None:
        assert REDIS_SERVER is not None
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert REDIS_SERVER is not None
        self.process = subprocess.Popen(
            [
                REDIS_SERVER,
                *("--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", str(self.directory)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not _ping(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.02)

    def stop(self, *, save: bool = False) -> None:
        if self.process is None:
            return
        if save:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
                sock.sendall(b"SHUTDOWN SAVE\r\n")
                sock.recv(64)  # the server closes the connection once it has saved
        else:
            self.process.terminate()
        self.process.wait(timeout=10)
        self.process = None

    def client(self) -> redis.asyncio.Redis:
        """A client that fails fast (no retries) once the server is gone."""
        return redis.asyncio.Redis(
            host="127.0.0.1",
            port=self.port,
            socket_connect_timeout=0.5,
            socket_timeout=0.5,
            retry=Retry(NoBackoff(), 0),
        )
