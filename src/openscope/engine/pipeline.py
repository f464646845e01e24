"""The request pipeline: a chain of stages in front of the backends, in one stated order.

A stage is `(call, next) -> AsyncGenerator[Event, None]`. It may refuse the call (raise at
once, or before its first event), rewrite it before passing it on, watch or transform the
events `next` yields, or call `next` more than once. A stage that only checks or rewrites
the call returns `next`'s iterator itself, so the events pay for no extra hop; one that
reads the events reads them inside `aclosing`, so a client that hangs up stops the backend
through every stage.

Adding a cross-cutting concern is one stage module and one line in the order
`engine/engine.py`'s `build_pipeline` states; no protocol and no backend changes."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Sequence
from typing import Protocol

from openscope.core.call import Call
from openscope.core.events import Event

Next = Callable[[Call], AsyncGenerator[Event, None]]


class Stage(Protocol):
    def __call__(self, call: Call, next: Next) -> AsyncGenerator[Event, None]: ...


def compose(stages: Sequence[Stage], terminal: Next) -> Next:
    """One `Next` that runs `stages` first to last, then `terminal`."""
    handler = terminal
    for stage in reversed(stages):
        handler = _bind(stage, handler)
    return handler


def _bind(stage: Stage, next_: Next) -> Next:
    def run(call: Call) -> AsyncGenerator[Event, None]:
        return stage(call, next_)

    return run
