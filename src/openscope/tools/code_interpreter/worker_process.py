"""The host's handle on one sandboxed worker: start it, send it a cell, kill it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from typing import Any

from openscope.tools.code_interpreter.results import SandboxFailed

# A reply carries the capped logs and up to max_images base64 PNGs; the reader's line limit
# is sized from those caps (see `reply_limit`).
_STDERR_KEPT = 4096


def reply_limit(max_output_bytes: int, max_images: int, max_image_bytes: int) -> int:
    # JSON escaping can grow text up to 6x (\uXXXX); base64 is 4/3.
    return 6 * max_output_bytes + max_images * (max_image_bytes * 4 // 3 + 8) + 65536


def _death(returncode: int | None, limits: str) -> SandboxFailed:
    """Why the worker ended, from bwrap's exit status (128 + signal when the worker was
    killed by one)."""
    code = returncode or 0
    signum = -code if code < 0 else code - 128 if code > 128 else 0
    if signum == signal.SIGXCPU:
        return SandboxFailed("cpu", f"the code exceeded the CPU-time limit ({limits})")
    if signum in (signal.SIGSEGV, signal.SIGBUS, signal.SIGABRT, signal.SIGKILL):
        name = signal.Signals(signum).name
        return SandboxFailed(
            "crashed",
            f"the Python process died ({name}), most often from the memory limit ({limits})",
        )
    return SandboxFailed("crashed", f"the Python process exited unexpectedly (status {code})")


class Worker:
    """One bwrap process group running worker.py; `run` is not reentrant (the container's
    lock serializes calls)."""

    def __init__(self, process: asyncio.subprocess.Process, limits: str) -> None:
        self._process = process
        self._limits = limits
        self._killed = False
        self._stderr = bytearray()
        self._stderr_task = asyncio.create_task(self._drain_stderr())

    @classmethod
    async def start(
        cls, argv: list[str], *, start_seconds: float, line_limit: int, limits: str
    ) -> Worker:
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,  # one process group to kill
                limit=line_limit,
            )
        except FileNotFoundError as error:
            raise SandboxFailed(
                "unavailable",
                f"the sandbox cannot start: {error.filename} is not installed "
                "(apt-get install bubblewrap)",
            ) from None
        worker = cls(process, limits)
        try:
            ready = await asyncio.wait_for(worker._read_line(), start_seconds)
        except TimeoutError:
            await worker.kill()
            raise SandboxFailed(
                "unavailable", f"the sandbox did not start within {start_seconds:g} s"
            ) from None
        except BaseException:
            # A cancellation (client disconnect, the tool loop's timeout) or anything else:
            # nobody will hold this worker, so it must not live on (nor its stderr task).
            # The SIGKILL goes out before kill's first await: a second cancellation can
            # only cut the waiting short, and the pipes' EOF ends the stderr task anyway.
            await worker.kill()
            raise
        if ready != {"ready": True}:
            await worker.kill()
            detail = worker._stderr.decode("utf-8", "replace").strip() or "no message"
            raise SandboxFailed("unavailable", f"the sandbox did not start: {detail}")
        return worker

    @property
    def alive(self) -> bool:
        return not self._killed and self._process.returncode is None

    async def run(self, code: str, wall_seconds: float) -> dict[str, Any]:
        """Execute one cell; the worker's reply, or SandboxFailed (the worker is then dead)."""
        assert self._process.stdin is not None
        try:
            self._process.stdin.write(json.dumps({"code": code}).encode() + b"\n")
            await self._process.stdin.drain()
            reply = await asyncio.wait_for(self._read_line(), wall_seconds)
        except TimeoutError:
            await self.kill()
            raise SandboxFailed(
                "timeout", f"the code ran longer than the {wall_seconds:g} s time limit"
            ) from None
        except (BrokenPipeError, ConnectionResetError):
            reply = None
        except asyncio.CancelledError:
            # The caller gave up (a client disconnect): the cell must not run on, and its
            # reply must not answer the next cell.
            self.kill_now()
            raise
        if reply is None:
            await self._wait()
            raise _death(self._process.returncode, self._limits)
        if reply.get("limit") == "memory":
            await self._wait()
        return reply

    async def _read_line(self) -> dict[str, Any] | None:
        assert self._process.stdout is not None
        try:
            line = await self._process.stdout.readline()
        except (ValueError, asyncio.LimitOverrunError):
            await self.kill()
            raise SandboxFailed("output", "the cell's output exceeded the sandbox's caps") from None
        if not line:
            return None
        try:
            message = json.loads(line)
        except ValueError:
            await self.kill()
            raise SandboxFailed("crashed", "the sandbox's worker sent a malformed reply") from None
        if not isinstance(message, dict):
            await self.kill()
            raise SandboxFailed("crashed", "the sandbox's worker sent a malformed reply")
        return message

    async def _drain_stderr(self) -> None:
        # bwrap's own messages (the worker's fd 2 is redirected into its capture).
        assert self._process.stderr is not None
        while chunk := await self._process.stderr.read(4096):
            self._stderr += chunk[: max(0, _STDERR_KEPT - len(self._stderr))]

    async def _wait(self) -> None:
        try:
            await asyncio.wait_for(self._process.wait(), 5.0)
        except TimeoutError:
            await self.kill()

    def kill_now(self) -> None:
        """SIGKILL the process group (bwrap; --die-with-parent and the pid namespace take
        everything inside with it)."""
        self._killed = True
        if self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, signal.SIGKILL)

    async def kill(self) -> None:
        """kill_now, then wait for the process to be reaped and its stderr to end."""
        self.kill_now()
        await self._process.wait()
        # past the second, wait_for cancels the task (something still held the pipe)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stderr_task, 1.0)
