"""The bubblewrap command line that starts one container's worker."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from openscope.tools.code_interpreter.policy import SandboxPolicy

WORK_DIR = PurePosixPath("/mnt/data")  # the container's files, the cells' working directory
RUNTIME_DIR = PurePosixPath("/opt/openscope-sandbox")  # worker.py and the matplotlib backend
SITE_ROOT = PurePosixPath("/opt/site")  # /opt/site/0, /opt/site/1, ...: the libraries

# System files the interpreter and the libraries read; bound read-only when present.
SYSTEM_FILES = ("/etc/ld.so.cache", "/etc/fonts", "/etc/localtime")


@dataclass(frozen=True)
class Identity:
    """Who the sandboxed code runs as: a uid of its own (the server is root), or the server's
    uid inside a user namespace (`uid` None)."""

    uid: int | None

    @property
    def gid(self) -> int | None:
        return self.uid


class _Args:
    """bwrap arguments, creating each destination's parent directories world-readable (bwrap
    would make them 0700, hiding what is bound below them from the unprivileged uid)."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.dirs: set[PurePosixPath] = {PurePosixPath("/")}

    def add(self, *items: str) -> None:
        self.items.extend(items)

    def parents(self, dest: PurePosixPath) -> None:
        for parent in reversed(dest.parents):
            if parent not in self.dirs:
                self.dirs.add(parent)
                self.add("--perms", "0755", "--dir", str(parent))
        self.dirs.add(dest)

    def bind(self, option: str, source: Path | str, dest: PurePosixPath) -> None:
        self.parents(dest)
        self.add(option, str(source), str(dest))


def worker_command(
    policy: SandboxPolicy, work_dir: Path, runtime_dir: Path, identity: Identity
) -> list[str]:
    """argv of bwrap running `runtime_dir/worker.py` with `work_dir` at /mnt/data."""
    args = _Args()
    args.add(policy.bwrap, "--die-with-parent", "--new-session", "--clearenv")
    args.add("--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts")
    args.add("--unshare-cgroup-try", "--hostname", "sandbox")
    if identity.uid is None:
        args.add("--unshare-user")
    else:
        # Root starts the worker with only the capabilities it needs to drop to its uid.
        args.add("--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID")
    args.bind("--ro-bind", "/usr", PurePosixPath("/usr"))
    for link in ("bin", "sbin", "lib", "lib64", "lib32"):
        if Path("/", link).is_symlink():
            args.add("--symlink", str(Path("/", link).readlink()), f"/{link}")
        elif Path("/", link).is_dir():
            args.bind("--ro-bind", f"/{link}", PurePosixPath("/", link))
    for system_file in SYSTEM_FILES:
        if Path(system_file).exists():
            args.bind("--ro-bind", system_file, PurePosixPath(system_file))
    prefix = PurePosixPath(policy.python_prefix)
    if not prefix.is_relative_to("/usr"):
        args.bind("--ro-bind", policy.python_prefix, prefix)
    sites = [SITE_ROOT / str(n) for n in range(len(policy.site_dirs))]
    for source, dest in zip(policy.site_dirs, sites, strict=True):
        args.bind("--ro-bind", source, dest)
    args.bind("--ro-bind", runtime_dir, RUNTIME_DIR)
    args.add("--proc", "/proc", "--dev", "/dev")
    # bounded: a tmpfs's default size is half the host's RAM
    args.add("--perms", "1777", "--size", str(policy.tmp_bytes), "--tmpfs", "/tmp")
    args.bind("--bind", work_dir, WORK_DIR)
    # The worker changes into WORK_DIR once it has its uid: the dir is 0700 and bwrap, root
    # without its capabilities, may not enter it.
    env = {
        "HOME": str(WORK_DIR),
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(RUNTIME_DIR),
        "MPLBACKEND": "module://openscope_sandbox_backend",
        "MPLCONFIGDIR": "/tmp/matplotlib",
        # One thread per BLAS: each thread counts against the process limit and reserves
        # address space.
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    for name, value in env.items():
        args.add("--setenv", name, value)
    config = {
        "uid": identity.uid,
        "gid": identity.gid,
        "work_dir": str(WORK_DIR),
        "site_dirs": [str(site) for site in sites],
        "output_bytes": policy.max_output_bytes,
        "max_images": policy.max_images,
        "max_image_bytes": policy.max_image_bytes,
        "limits": {
            "cpu": policy.cpu_seconds,
            "cpu_total": policy.cpu_seconds_total,
            "as": policy.memory_bytes,
            "nproc": policy.max_processes,
            "fsize": policy.max_file_bytes,
            "nofile": policy.max_open_files,
            "core": 0,
        },
    }
    # -S: no site-packages but the bound ones (not the prefix's own).
    args.add("--", str(policy.python), "-E", "-S", "-B")
    args.add(str(RUNTIME_DIR / "worker.py"), json.dumps(config))
    return args.items
