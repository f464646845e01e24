"""A handler and where it answers, before the router mounts it under each prefix."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi import Response

Handler = Callable[..., Coroutine[Any, Any, Response]]


@dataclass(frozen=True, slots=True)
class RouteSpec:
    path: str  # under a prefix: "/files/{file_id}"
    handler: Handler
    method: str
