"""The per-container Python worker; runs inside bubblewrap, standard library only.

Started as `python -E -S -B worker.py CONFIG_JSON`. It drops to the container's uid (when
the host gave one), applies its rlimits, then answers one JSON line per JSON-line request on
its private copies of stdin/stdout:

    -> {"code": "..."}
    <- {"logs": "...", "error": false, "limit": null, "images": ["<base64 png>", ...]}

`limit` names a limit the cell hit ("memory", "output", "processes"); after "memory" the
worker exits (its heap can no longer be trusted). Cells share one namespace, like a notebook;
the value of a trailing expression is printed. Processes a cell starts do not outlive it.
"""

from __future__ import annotations

import ast
import base64
import builtins
import contextlib
import errno
import json
import linecache
import os
import resource
import signal
import sys
import threading
import time
import traceback
from typing import Any, BinaryIO

BACKEND = "openscope_sandbox_backend"


class OutputLimit(BaseException):
    """Raised in the cell when it has written more than the output cap (a BaseException, so
    `except Exception` in user code does not swallow it)."""


class Capture:
    """stdout and stderr of one cell, in order, capped at `cap` bytes (shared by the Python
    writers and the thread draining fds 1 and 2)."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.chunks: list[bytes] = []
        self.size = 0
        self.overflow = False
        self.lock = threading.Lock()

    def add(self, data: bytes) -> bool:
        """Keep what fits; False when the cap was crossed."""
        with self.lock:
            room = self.cap - self.size
            if len(data) > room:
                self.chunks.append(data[: max(room, 0)])
                self.size = self.cap
                self.overflow = True
                return False
            self.chunks.append(data)
            self.size += len(data)
            return True

    def take(self) -> tuple[str, bool]:
        with self.lock:
            text = b"".join(self.chunks).decode("utf-8", "replace")
            overflow = self.overflow
            self.chunks, self.size, self.overflow = [], 0, False
            return text, overflow


class Writer:
    """sys.stdout / sys.stderr of the cell. In a forked child it writes to fd 1 (the drained
    pipe), since the child's copy of the capture would be lost."""

    encoding = "utf-8"
    errors = "replace"

    def __init__(self, capture: Capture, owner_pid: int) -> None:
        self.capture = capture
        self.owner_pid = owner_pid

    def write(self, text: str) -> int:
        data = text.encode("utf-8", "replace")
        if os.getpid() != self.owner_pid:
            os.write(1, data)
        elif not self.capture.add(data):
            raise OutputLimit
        return len(text)

    def writelines(self, lines: list[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return 1

    def writable(self) -> bool:
        return True


def drain(read_fd: int, capture: Capture, marks: dict[bytes, threading.Event]) -> None:
    """Copy fds 1 and 2 (subprocesses, C code) into the capture; a cell-end mark tells the
    worker that everything written before it has been read."""
    pending = b""
    while True:
        data = os.read(read_fd, 65536)
        if not data:
            return
        pending += data
        for mark, seen in list(marks.items()):
            if mark in pending:
                before, _, pending = pending.partition(mark)
                capture.add(before)
                seen.set()
        # Keep a tail that may be the start of a mark split across reads.
        keep = 64
        if len(pending) > keep:
            capture.add(pending[:-keep])
            pending = pending[-keep:]


def apply_limits(limits: dict[str, int]) -> None:
    pairs = {
        "as": resource.RLIMIT_AS,
        "nproc": resource.RLIMIT_NPROC,
        "fsize": resource.RLIMIT_FSIZE,
        "nofile": resource.RLIMIT_NOFILE,
        "core": resource.RLIMIT_CORE,
    }
    for name, which in pairs.items():
        resource.setrlimit(which, (limits[name], limits[name]))
    resource.setrlimit(resource.RLIMIT_CPU, (limits["cpu"], limits["cpu_total"]))


def cpu_used() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_cell(code: str, number: int, namespace: dict[str, Any]) -> tuple[bool, str | None]:
    """Execute one cell; (user error, limit hit)."""
    name = f"<cell {number}>"
    linecache.cache[name] = (len(code), None, code.splitlines(True), name)
    try:
        tree = ast.parse(code, name, "exec")
        last: ast.Expression | None = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body[-1].value)
            tree.body.pop()
        exec(compile(tree, name, "exec"), namespace)
        if last is not None:
            value = eval(compile(last, name, "eval"), namespace)
            if value is not None:
                print(repr(value))
        return False, None
    except OutputLimit:
        return True, "output"
    except MemoryError:
        return True, "memory"
    except BaseException as error:  # the user's exception, reported with its traceback
        limit = None
        if isinstance(error, BlockingIOError) and error.errno == errno.EAGAIN:
            limit = "processes"
        if isinstance(error, RuntimeError) and "can't start new thread" in str(error):
            limit = "processes"
        frames = traceback.extract_tb(error.__traceback__)[1:]
        try:
            text = "Traceback (most recent call last):\n" if frames else ""
            text += "".join(traceback.format_list(frames))
            text += "".join(traceback.format_exception_only(type(error), error))
            sys.stderr.write(text)
        except OutputLimit:
            limit = "output"
        return True, limit


def collect_images(max_images: int, max_bytes: int) -> list[str]:
    if "matplotlib.pyplot" not in sys.modules:
        return []
    backend = __import__(BACKEND)
    try:
        backend.render_open_figures()
    except Exception as error:  # a broken figure must not cost the cell its logs
        sys.stderr.write(f"[sandbox] a figure could not be rendered: {error!r}\n")
    pngs: list[bytes] = list(backend.rendered)
    backend.rendered.clear()
    kept = [png for png in pngs if len(png) <= max_bytes][:max_images]
    return [base64.b64encode(png).decode("ascii") for png in kept]


def others() -> list[int]:
    """The sandbox's other processes (its pid namespace's /proc), bar its init."""
    me = os.getpid()
    return [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, me)]


def kill_strays() -> None:
    """End every other process of the sandbox (kill(-1) spares the caller and the
    namespace's init), so nothing a cell started runs on after it; wait (briefly) until
    they are reaped, ours by us, orphans by the init."""
    deadline = time.monotonic() + 2.0
    while others() and time.monotonic() < deadline:
        with contextlib.suppress(ProcessLookupError):
            os.kill(-1, signal.SIGKILL)
        try:
            while os.waitpid(-1, os.WNOHANG)[0] > 0:
                pass
        except ChildProcessError:
            pass
        time.sleep(0.005)


def main() -> None:
    config = json.loads(sys.argv[1])
    requests: BinaryIO = os.fdopen(os.dup(0), "rb")
    replies: BinaryIO = os.fdopen(os.dup(1), "wb")
    null = os.open("/dev/null", os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    if config["uid"] is not None:
        os.setgroups([])
        os.setgid(config["gid"])
        os.setuid(config["uid"])
    limits: dict[str, int] = config["limits"]
    apply_limits(limits)
    os.chdir(config["work_dir"])
    sys.path[1:1] = config["site_dirs"]

    read_fd, write_fd = os.pipe()
    os.dup2(write_fd, 1)
    os.dup2(write_fd, 2)
    os.close(write_fd)
    capture = Capture(config["output_bytes"])
    marks: dict[bytes, threading.Event] = {}
    threading.Thread(target=drain, args=(read_fd, capture, marks), daemon=True).start()
    pid = os.getpid()
    writer = Writer(capture, pid)
    sys.stdout = sys.stderr = writer
    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}

    def send(message: dict[str, Any]) -> None:
        replies.write(json.dumps(message).encode() + b"\n")
        replies.flush()

    send({"ready": True})
    for number, line in enumerate(requests, start=1):
        request = json.loads(line)
        total = limits["cpu_total"]
        soft = min(int(cpu_used()) + limits["cpu"], total)
        resource.setrlimit(resource.RLIMIT_CPU, (soft, total))
        error, limit = run_cell(request["code"], number, namespace)
        if os.getpid() != pid:  # a fork of the cell ended its copy of the cell
            os._exit(0)
        kill_strays()
        mark = os.urandom(16).hex().encode()
        seen = marks[mark] = threading.Event()
        os.write(1, mark)
        seen.wait(2.0)
        marks.pop(mark, None)
        images: list[str] = []
        if limit != "memory":
            try:
                images = collect_images(config["max_images"], config["max_image_bytes"])
            except OutputLimit:
                limit = "output"
        logs, overflow = capture.take()
        if overflow and limit is None:
            limit = "output"
        send({"logs": logs, "error": error, "limit": limit, "images": images})
        if limit == "memory":
            os._exit(3)


if __name__ == "__main__":
    main()
