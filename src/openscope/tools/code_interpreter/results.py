"""What a run gives back, and the one exception our own failures raise."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Literal

FailureKind = Literal[
    "unavailable",  # bwrap or the interpreter missing, the sandbox would not start
    "not_found",  # no such container (never created, removed or expired)
    "busy",  # every container slot is running code
    "timeout",  # the wall-clock limit
    "cpu",  # the CPU-time limit
    "memory",  # the memory limit
    "processes",  # the process limit
    "output",  # the stdout + stderr cap
    "disk",  # the container's files past the disk cap (it was removed)
    "crashed",  # the worker died some other way
]


class SandboxFailed(Exception):
    """The sandbox, not the user's code, failed: `reason` is written for the model and the
    client to read; `logs` holds what the cell printed before it failed (capped)."""

    def __init__(self, kind: FailureKind, reason: str, *, logs: str = "") -> None:
        super().__init__(reason)
        self.kind: FailureKind = kind
        self.reason = reason
        self.logs = logs


@dataclass(frozen=True)
class ImageOutput:
    """A figure the cell drew, as PNG."""

    png: bytes

    @property
    def data_url(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


@dataclass(frozen=True)
class RunResult:
    """One cell's outcome. `error`: the user's code raised (its traceback ends `logs`).
    `restarted`: the container's previous worker had died, so this cell ran in a fresh one
    (files kept, variables lost; `logs` starts with a line saying so)."""

    container_id: str
    logs: str
    images: tuple[ImageOutput, ...]
    error: bool
    restarted: bool
