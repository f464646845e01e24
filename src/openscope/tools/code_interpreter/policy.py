"""The sandbox's limits and what it may see: one frozen policy per `Containers`."""

from __future__ import annotations

import importlib.util
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

# The libraries offered inside (the `code-interpreter` extra); their site-packages
# directories are bound read-only when they are installed here.
LIBRARIES = ("numpy", "pandas", "matplotlib", "sympy")


def library_site_dirs(names: tuple[str, ...] = LIBRARIES) -> tuple[Path, ...]:
    """The directories holding `names` in this interpreter (without importing them)."""
    found: list[Path] = []
    for name in names:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            continue
        site = Path(next(iter(spec.submodule_search_locations))).resolve().parent
        if site not in found:
            found.append(site)
    return tuple(found)


def _python() -> Path:
    return Path(os.path.realpath(sys.executable))


@dataclass(frozen=True)
class SandboxPolicy:
    """Limits per cell and per worker, and the interpreter the sandbox runs.

    The uid: when the server runs as root, container n runs as `uid_base + n` (so the process
    limit counts that container's processes only; as root it would not apply at all). Not as
    root, the sandbox runs as the server's own uid in a user namespace, and the process limit
    counts all of that uid's processes."""

    wall_seconds: float = 60.0  # per cell, enforced from outside (the worker is killed)
    cpu_seconds: int = 60  # per cell (SIGXCPU ends the worker)
    cpu_seconds_total: int = 3600  # per worker, across its cells
    memory_bytes: int = 1 << 30  # address space of every process inside
    max_processes: int = 64  # processes and threads of the container's uid
    max_file_bytes: int = 100 << 20  # largest file a cell may write
    max_open_files: int = 256
    # /tmp is a tmpfs of this size: its pages are the host's RAM, counted against no rlimit
    # and kept until the worker ends (a write past it is the cell's ENOSPC).
    tmp_bytes: int = 64 << 20
    # All the files of a container's /mnt/data (allocated blocks, at least one 4 KiB block
    # per entry), measured every `disk_poll_seconds` while a cell runs and after it; past
    # it the cell fails and the container is removed with its files.
    max_disk_bytes: int = 512 << 20
    disk_poll_seconds: float = 1.0
    max_output_bytes: int = 1 << 20  # stdout + stderr of one cell
    max_images: int = 8  # per cell
    max_image_bytes: int = 8 << 20  # per PNG
    idle_seconds: float = 20 * 60.0  # a container unused this long is removed
    max_containers: int = 32
    # One workspace's share: past it, its own least recently used idle container makes
    # room, so no tenant can push every other tenant's containers out.
    max_containers_per_workspace: int = 8
    start_seconds: float = 20.0  # for a worker to start and say it is ready
    uid_base: int = 200_000
    bwrap: str = "bwrap"
    python: Path = field(default_factory=_python)
    python_prefix: Path = field(default_factory=lambda: Path(sys.base_prefix).resolve())
    site_dirs: tuple[Path, ...] = field(default_factory=library_site_dirs)
