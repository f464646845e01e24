"""The code interpreter's sandbox: Python cells run in bubblewrap containers.

API for the tool loop (all async, one `Containers` per server, made in the lifespan):

    containers = Containers(root_dir: Path, policy: SandboxPolicy = SandboxPolicy())
        # this instance's own directory under root_dir/instances (several instances may
        # share a root; each removes only the directories of instances that have ended)
    container_id = await containers.create(owner)             # "cntr_<32 hex>"
    containers.owner_of(container_id) -> str | None          # its workspace, if live
    result = await containers.run(container_id, code)        # -> RunResult
        result.logs: str          stdout + stderr in order (subprocess output may lag),
                                  then the traceback when the code raised
        result.error: bool        the user's code raised (a normal result, not ours)
        result.images: tuple[ImageOutput, ...]   .png bytes, .data_url "data:image/png;base64,..."
        result.restarted: bool    the previous worker had died; logs open with a line saying so
    await containers.expire_idle() -> list[str]   # also done on every create/run; call it
                                                   # periodically to free idle workers
    await containers.remove(container_id);  await containers.aclose()
    containers.work_dir(container_id) -> Path      # the host path of its /mnt/data

Every failure of ours raises `SandboxFailed(kind, reason, logs=...)`: `reason` is meant for
the model and the client (e.g. "the code ran longer than the 60 s time limit"), `kind` is one
of unavailable (bwrap missing, sandbox would not start), not_found (unknown or expired
container), busy, timeout, cpu, memory, processes, output, disk (the container was removed),
crashed; `logs` holds what the cell printed first. Run `code_interpreter_call` outputs from
it as `{"type": "logs", "logs": ...}` and `{"type": "image", "url": image.data_url}`.

`CodeInterpreterRunner(containers)` is the tool loop's `BuiltinToolRunner`
(`core.tool_runner`): function `code_interpreter(code)`, one container per conversation,
never shared across workspaces (see its module), `expire_idle()` and `aclose()` for the
server's chores and shutdown.

Guarantees (each checked by tests/tools/code_interpreter against the real bwrap):
* No network: a network namespace of its own (only its own loopback, no route out); nothing
  on the host, its loopback included, is reachable, and no name resolves.
* A cancelled `run` (client disconnect) kills the cell's processes; the next cell starts a
  fresh Python.
* The filesystem is /usr (and /bin, /lib* links), the interpreter's prefix, the
  site-packages holding numpy / pandas / matplotlib / sympy and the worker's two files, all
  read-only; a private /tmp (a tmpfs of `tmp_bytes`, 64 MiB: a write past it is the cell's
  ENOSPC); the container's own writable /mnt/data (the cells' cwd, files kept across calls,
  `max_disk_bytes` in all, 512 MiB). Nothing else of the host: not its /etc (but
  ld.so.cache, fonts, localtime), not the data dir, not other containers, not the project
  tree.
* Own pid, ipc, uts (and cgroup) namespaces; --die-with-parent, --new-session; when the server
  is root, each container runs as its own unprivileged uid (policy.uid_base + slot) with no
  capabilities, otherwise as the server's uid in a user namespace.
* rlimits set inside before any user code: CPU seconds per cell (and per worker), address
  space, processes+threads (of the container's uid; see SandboxPolicy), file size, open
  files, no core files. A wall-clock timeout per cell kills the whole process group from
  outside. stdout+stderr of a cell is capped (`max_output_bytes`), and so are images.
* Processes a cell starts are killed when it ends; so is a worker whose start is cancelled.
* Disk: /mnt/data is measured (allocated blocks, at least 4 KiB per entry, off the event
  loop) every `disk_poll_seconds` (1 s) while a cell runs and after it; past
  `max_disk_bytes` the cell is killed and fails (kind "disk"), and the container is removed
  with its files: the next call starts in an empty one.
* State: one long-lived Python per container, cells share its namespace like a notebook
  (the value of a trailing expression is printed). A cell that kills it (timeout, CPU, memory)
  fails with SandboxFailed; the next cell starts a fresh Python on the same files. Hitting
  the process or output limit fails the cell but keeps the worker and its variables.
* Containers idle for `idle_seconds` (20 min) are removed, processes and files; at most
  `max_containers` live at once (creating one more removes the least recently used idle one),
  at most `max_containers_per_workspace` of one workspace; creates run one at a time, so
  concurrent ones keep within both.

Limits: the disk cap is polled, not enforced by the kernel: a cell may write past it by
what the disk takes in one poll interval and one walk of the directory (each file at most
`max_file_bytes`), until it is killed and its files are deleted; /tmp (RAM) adds
`tmp_bytes` per container. Without root the process limit counts all of the server uid's
processes. numpy, pandas, matplotlib and sympy come from the `code-interpreter` extra;
without it, importing them is the user code's ImportError.
"""

from openscope.tools.code_interpreter.containers import Containers
from openscope.tools.code_interpreter.policy import SandboxPolicy
from openscope.tools.code_interpreter.results import (
    FailureKind,
    ImageOutput,
    RunResult,
    SandboxFailed,
)
from openscope.tools.code_interpreter.runner import CodeInterpreterRunner

__all__ = [
    "CodeInterpreterRunner",
    "Containers",
    "FailureKind",
    "ImageOutput",
    "RunResult",
    "SandboxFailed",
    "SandboxPolicy",
]
