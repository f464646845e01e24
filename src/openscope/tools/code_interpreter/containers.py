"""Containers: a work dir and a long-lived sandboxed worker each, kept between calls and
removed after an idle time."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import fcntl
import os
import secrets
import shutil
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from openscope.tools.code_interpreter import bwrap
from openscope.tools.code_interpreter.disk import disk_usage
from openscope.tools.code_interpreter.policy import SandboxPolicy
from openscope.tools.code_interpreter.results import (
    FailureKind,
    ImageOutput,
    RunResult,
    SandboxFailed,
)
from openscope.tools.code_interpreter.worker_process import Worker, reply_limit

RUNTIME_FILES = ("worker.py", "openscope_sandbox_backend.py")
_LIMIT_REASONS: dict[FailureKind, str] = {
    "memory": "the code exceeded the memory limit ({memory} MiB)",
    "processes": "the code reached the process limit ({processes} processes and threads)",
    "output": "the code printed more than the output limit ({output} bytes)",
}


@dataclass
class _Container:
    id: str
    work_dir: Path
    slot: int
    last_used: float
    owner: str  # the workspace it was made for: no other may run in it
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    worker: Worker | None = None
    ran_before: bool = False  # a worker of this container has run a cell
    lost: str | None = None  # why the last worker died, told with the next cell
    over_disk: bool = False  # the disk watchdog found its files past the cap


def not_found_reason(container_id: str) -> str:
    """What a call naming a container that is not there is told (never whether a
    container of that id exists for someone else)."""
    return f"Container {container_id} was not found or has expired."


INSTANCES_DIR = "instances"
LOCK_FILE = "lock"
SETUP_LOCK_FILE = ".setup.lock"


def _hold_lock(path: Path) -> int:
    """Open `path` and take its exclusive lock (held until the descriptor closes)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise
    return fd


def _remove_dead_instances(instances: Path) -> None:
    """Remove the directories of instances that have ended: those whose lock is free.
    (Called under the setup lock, under which an instance makes its directory and locks
    it: a directory without a lock holder is never one being set up.)"""
    for directory in instances.iterdir():
        if directory.name.startswith(".") or not directory.is_dir() or directory.is_symlink():
            continue
        try:
            fd = _hold_lock(directory / LOCK_FILE)
        except BlockingIOError:
            continue  # a live instance holds it
        except OSError:
            continue  # cannot tell: leave it
        try:
            _remove_tree(directory)
        finally:
            os.close(fd)


def _remove_tree(path: Path) -> None:
    """rmtree that also removes what code inside left in read-only directories (the server
    owns them when it is not root; root needs no help)."""

    def make_writable(function: object, failed: str, exc_info: object) -> None:
        os.chmod(os.path.dirname(failed), stat.S_IRWXU)
        if os.path.isdir(failed) and not os.path.islink(failed):
            os.chmod(failed, stat.S_IRWXU)
            shutil.rmtree(failed, ignore_errors=True)
        else:
            os.unlink(failed)

    if path.exists():
        shutil.rmtree(path, onerror=make_writable)


class Containers:
    """The live containers of this server instance.

    Several instances may share one `root_dir` (one data dir, several processes): each
    owns a directory of its own under `root_dir/instances`, holding its runtime files and
    its containers, with an exclusive `flock` on its lock file for as long as it lives.
    At startup an instance removes only the directories whose lock it can take: the
    kernel drops a lock when its process ends, however it ends, so those are provably
    dead instances' leftovers; a live instance's containers are never touched."""

    def __init__(
        self,
        root_dir: Path,
        policy: SandboxPolicy | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy or SandboxPolicy()
        self._clock = clock
        instances = Path(root_dir).resolve() / INSTANCES_DIR
        instances.mkdir(parents=True, exist_ok=True, mode=0o700)
        # One instance at a time cleans up and makes its directory: none can then find
        # another's directory in the instant before that one has locked it.
        setup = os.open(instances / SETUP_LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(setup, fcntl.LOCK_EX)
            _remove_dead_instances(instances)
            self._root = instances / f"{os.getpid()}-{secrets.token_hex(4)}"
            self._root.mkdir(mode=0o711)
            self._lock_file = _hold_lock(self._root / LOCK_FILE)
        finally:
            os.close(setup)
        self._runtime = self._root / "runtime"
        self._dirs = self._root / "containers"
        self._live: dict[str, _Container] = {}
        self._creating = asyncio.Lock()
        self._as_root = os.geteuid() == 0
        self._dirs.mkdir(mode=0o700)
        self._runtime.mkdir(mode=0o755)
        source = Path(__file__).parent / "runtime"
        for name in RUNTIME_FILES:
            shutil.copyfile(source / name, self._runtime / name)
            (self._runtime / name).chmod(0o644)
        self._limits = (
            f"{self.policy.cpu_seconds} s CPU, {self.policy.memory_bytes >> 20} MiB memory"
        )

    @property
    def instance_dir(self) -> Path:
        """This instance's own directory under the root (its runtime and containers)."""
        return self._root

    def __contains__(self, container_id: object) -> bool:
        return container_id in self._live

    def work_dir(self, container_id: str) -> Path:
        """The host path of a container's files (its /mnt/data)."""
        return self._get(container_id).work_dir

    def owner_of(self, container_id: str) -> str | None:
        """The workspace a live container was made for; None when it is not live."""
        container = self._live.get(container_id)
        return container.owner if container is not None else None

    async def create(self, owner: str = "") -> str:
        """A new empty container for the workspace `owner`; its worker starts with its
        first cell. When the workspace has its `max_containers_per_workspace`, its own
        least recently used idle container is removed first; when all `max_containers`
        exist, the least recently used idle one of any workspace."""
        # One create at a time: another's would otherwise count the same free room, or
        # take the slot this one's room-making freed, while this one awaits a removal.
        async with self._creating:
            await self.expire_idle()
            own = [c for c in self._live.values() if c.owner == owner]
            if len(own) >= self.policy.max_containers_per_workspace:
                await self._make_room(own, "this workspace's")
            if len(self._live) >= self.policy.max_containers:
                await self._make_room(list(self._live.values()), "all")
            used = {c.slot for c in self._live.values()}
            slot = next((n for n in range(self.policy.max_containers) if n not in used), None)
            if slot is None:  # not expected under the lock; never a StopIteration
                raise SandboxFailed(
                    "busy", f"all {self.policy.max_containers} sandbox containers are in use"
                )
            return self._add(owner, slot)

    def _add(self, owner: str, slot: int) -> str:
        container_id = f"cntr_{secrets.token_hex(16)}"
        work_dir = self._dirs / container_id
        work_dir.mkdir(mode=0o700)
        if self._as_root:
            os.chown(work_dir, self._uid(slot), self._uid(slot))
        self._live[container_id] = _Container(container_id, work_dir, slot, self._clock(), owner)
        return container_id

    async def _make_room(self, among: list[_Container], whose: str) -> None:
        idle = [c for c in among if not c.lock.locked()]
        if not idle:
            raise SandboxFailed("busy", f"{whose} {len(among)} sandbox containers are running code")
        await self.remove(min(idle, key=lambda c: c.last_used).id)

    async def run(self, container_id: str, code: str) -> RunResult:
        """Run one cell in the container: a RunResult (the user's exceptions included), or
        SandboxFailed when a limit, the timeout or the sandbox itself stopped it."""
        await self.expire_idle()
        container = self._get(container_id)
        async with container.lock:
            container.last_used = self._clock()
            try:
                try:
                    result = await self._run(container, code)
                except SandboxFailed as failure:
                    await self._check_disk(container, failure.logs)
                    raise
                await self._check_disk(container, result.logs)
                return result
            finally:
                container.last_used = self._clock()

    async def _check_disk(self, container: _Container, logs: str) -> None:
        """After a cell: when the container's files are past `max_disk_bytes`, remove it
        with them and fail the cell (another would only add to them)."""
        if not container.over_disk and not await self._over_disk(container):
            return
        await self.remove(container.id)
        cap = self.policy.max_disk_bytes / (1 << 20)
        raise SandboxFailed(
            "disk",
            f"the files in /mnt/data exceeded the disk limit ({cap:g} MiB): the container "
            "was removed with its files, so the next call starts in a new, empty container",
            logs=logs,
        )

    async def _over_disk(self, container: _Container) -> bool:
        cap = self.policy.max_disk_bytes
        try:
            used = await asyncio.to_thread(disk_usage, container.work_dir, cap)
        except OSError:
            return True  # files that cannot even be counted are not to be kept
        return used > cap

    async def _watch_disk(self, container: _Container, worker: Worker) -> None:
        """While a cell runs: kill it once the container's files are past the cap, so a
        long cell cannot write far beyond it (at most a poll interval's worth)."""
        while True:
            await asyncio.sleep(self.policy.disk_poll_seconds)
            if await self._over_disk(container):
                container.over_disk = True
                worker.kill_now()
                return

    async def _run(self, container: _Container, code: str) -> RunResult:
        notice = ""
        if container.worker is None or not container.worker.alive:
            if container.ran_before:
                why = container.lost or "it had ended"
                notice = (
                    f"[sandbox] Python was restarted because {why}: variables from earlier "
                    "cells are gone; files in /mnt/data were kept.\n"
                )
            container.worker = await self._start(container)
        container.ran_before = True
        watchdog = asyncio.create_task(self._watch_disk(container, container.worker))
        try:
            reply = await container.worker.run(code, self.policy.wall_seconds)
        except SandboxFailed as failure:
            container.lost = failure.reason
            raise SandboxFailed(failure.kind, failure.reason, logs=notice) from None
        except asyncio.CancelledError:
            container.lost = "the previous call was cancelled while it ran"
            raise
        finally:
            # not awaited: that could swallow a cancellation of this call
            watchdog.cancel()
        logs = notice + str(reply.get("logs", ""))
        limit = reply.get("limit")
        if limit is not None:
            kind: FailureKind = limit if limit in _LIMIT_REASONS else "crashed"
            reason = _LIMIT_REASONS.get(kind, "the code hit a sandbox limit").format(
                memory=self.policy.memory_bytes >> 20,
                processes=self.policy.max_processes,
                output=self.policy.max_output_bytes,
            )
            if kind == "memory":
                container.lost = reason
            raise SandboxFailed(kind, reason, logs=logs)
        images = tuple(ImageOutput(base64.b64decode(str(data))) for data in reply.get("images", []))
        return RunResult(
            container_id=container.id,
            logs=logs,
            images=images,
            error=bool(reply.get("error")),
            restarted=bool(notice),
        )

    async def _start(self, container: _Container) -> Worker:
        identity = bwrap.Identity(self._uid(container.slot) if self._as_root else None)
        argv = bwrap.worker_command(self.policy, container.work_dir, self._runtime, identity)
        policy = self.policy
        return await Worker.start(
            argv,
            start_seconds=policy.start_seconds,
            line_limit=reply_limit(
                policy.max_output_bytes, policy.max_images, policy.max_image_bytes
            ),
            limits=self._limits,
        )

    def _uid(self, slot: int) -> int:
        return self.policy.uid_base + slot

    def _get(self, container_id: str) -> _Container:
        container = self._live.get(container_id)
        if container is None:
            raise SandboxFailed("not_found", not_found_reason(container_id))
        return container

    async def remove(self, container_id: str) -> None:
        """Kill the container's processes and delete its files."""
        container = self._live.pop(container_id, None)
        if container is None:
            return
        if container.worker is not None:
            await container.worker.kill()
        await asyncio.to_thread(_remove_tree, container.work_dir)

    async def expire_idle(self) -> list[str]:
        """Remove the containers idle for `idle_seconds` (not one running code); their ids."""
        cutoff = self._clock() - self.policy.idle_seconds
        expired = [
            c.id for c in self._live.values() if c.last_used <= cutoff and not c.lock.locked()
        ]
        for container_id in expired:
            await self.remove(container_id)
        return expired

    async def aclose(self) -> None:
        """Remove every container, then this instance's directory (and its lock)."""
        for container_id in list(self._live):
            with contextlib.suppress(OSError):
                await self.remove(container_id)
        if self._lock_file < 0:
            return
        with contextlib.suppress(OSError):
            await asyncio.to_thread(_remove_tree, self._root)
        os.close(self._lock_file)
        self._lock_file = -1
