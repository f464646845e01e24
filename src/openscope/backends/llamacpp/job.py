"""One request as the engine thread sees it (`Job`), the choices it drives, and how its
items reach the consumer waiting for them.

A job is in exactly one of three states, waiting, running or ended (`JobState`); the
scheduler moves it between them. Its events collect in an outbox and are handed over at
most every FLUSH_SECONDS; its end (an error or the final usage, then END) goes at once.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from openscope.core.events import Event, Usage

END = object()  # the last item a job delivers
# Events reach the event loop at most this often per request (the first ones at once): each
# hand-over wakes the loop's thread, which on a small machine takes a core from the decode
# threads mid-step (measured: single-stream decode 4% faster than handing over every token).
FLUSH_SECONDS = 0.04

Deliver = Callable[[list[object]], None]
# Hands over one step's items for several jobs at once: (a job's deliver, its items) each.
# The backend's wakes the event loop once a step rather than once a job.
Handover = Callable[[list[tuple[Deliver, list[object]]]], None]


def deliver_each(due: list[tuple[Deliver, list[object]]]) -> None:
    for deliver, items in due:
        deliver(items)


class Choice(Protocol):
    """One choice of a job as the engine thread drives it (`choice.ChoiceRun`)."""

    finished: bool
    generated: int  # tokens sampled
    reasoning: int  # of which inside the think block
    greedy: bool  # takes the first highest logit as decoded: picked with the whole batch

    def start(self) -> list[Event]: ...

    def advance(
        self, ctx: Any, idx: int, logits: Any, picked: int | None = None
    ) -> tuple[list[Event], list[int]]: ...


class JobState(enum.Enum):
    WAITING = "waiting"
    RUNNING = "running"
    ENDED = "ended"


@dataclass(eq=False)
class Job:
    """One request as the engine thread sees it."""

    prompt: list[int]
    choices: list[Choice]
    deliver: Deliver  # thread-safe: hands events (or an error, then END) to the consumer
    max_new: int = 0  # KV cells each choice may write after the prompt
    explicit: bool = False  # explicit or session cache: only explicit entries serve it
    session: bool = False  # session cache: any live explicit entry of its prefix serves it
    marks: tuple[int, ...] = ()  # token counts at its cache markers, in order
    cache_ttl: float | None = None  # seconds its markers ask their entry to live, if longer
    deadline: float | None = None  # monotonic time past which it fails
    # Once admitted it gets this many seconds from then: time spent waiting for its 200
    # never cuts a stream short (a job still waiting at its deadline fails before any byte).
    run_timeout: float | None = None
    cancelled: bool = False  # set from the event loop when the consumer goes away
    # engine-thread state
    state: JobState = JobState.WAITING
    seq_ids: list[int] = field(default_factory=list)
    reserved: int = 0  # KV cells counted against the budget for this job
    source: int | None = None  # the cache entry whose cells the prompt shares, while it lives
    reused: int = 0  # how many of them
    prefilled: int = 0
    cached: int = 0  # prompt tokens reported as read from the cache
    positions: list[int] = field(default_factory=list)
    feeds: list[list[int]] = field(default_factory=list)
    tail: list[int] = field(default_factory=list)  # tokens after the prompt in choice 0's KV
    outbox: list[object] = field(default_factory=list)  # events not yet handed over
    flushed_at: float | None = None  # when events were last handed over

    def kv_need(self, reuse: int) -> int:
        """Cells this job may write when `reuse` prompt tokens come from the cache."""
        return len(self.prompt) - reuse + len(self.choices) * self.max_new

    def take_due(self, now: float) -> list[object]:
        """The pending events if it is time to hand them over (none otherwise); they
        count as handed over from `now`."""
        if not self.outbox or (
            self.flushed_at is not None and now - self.flushed_at < FLUSH_SECONDS
        ):
            return []
        items, self.outbox = self.outbox, []
        self.flushed_at = now
        return items

    def flush(self, now: float, *, final: tuple[object, ...]) -> None:
        """Hand every pending event over now, then the `final` items."""
        self.deliver([*self.outbox, *final])
        self.outbox = []
        self.flushed_at = now

    @property
    def decoding(self) -> bool:
        return self.prefilled == len(self.prompt)

    @property
    def done(self) -> bool:
        return all(c.finished for c in self.choices)

    @property
    def written(self) -> int:
        """KV cells this job has written so far (its prompt counted once)."""
        prompt = len(self.prompt)
        return self.prefilled + sum(p - prompt for p in self.positions if p > prompt)

    def usage(self, creation: int = 0) -> Usage:
        """Its usage so far; `creation`: tokens it wrote to an explicit cache entry."""
        return Usage(
            input_tokens=len(self.prompt),
            output_tokens=sum(c.generated for c in self.choices),
            reasoning_tokens=sum(c.reasoning for c in self.choices),
            cached_tokens=self.cached,
            cache_creation_tokens=creation,
            cache_type="ephemeral" if self.explicit else None,
        )
