"""In-tree fakes for the scheduler: a KV cache that behaves like llama.cpp's unified one,
and choices that produce scripted tokens. No model is loaded."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from openscope.backends.llamacpp.context import DECODE_NO_KV_SLOT, DECODE_OK, BatchEntry
from openscope.backends.llamacpp.job import END, Job, JobState
from openscope.backends.llamacpp.scheduler import Scheduler
from openscope.core.errors import OpenScopeError
from openscope.core.events import (
    ChoiceEnd,
    Event,
    FinishReason,
    PartDelta,
    PartEnd,
    PartKind,
    PartStart,
    UsageReport,
)


class FakeBatchContext:
    """`n_ctx` KV cells shared by every sequence. A cell holds one position for a set of
    sequences: copying a sequence shares its cells, removing one frees the cells no other
    sequence holds, and a decode needs a free cell per entry or writes nothing, as in
    llama.cpp. It also checks what llama.cpp would get wrong silently: a position written
    twice, or a gap in a sequence."""

    def __init__(
        self, n_ctx: int, *, n_batch: int = 512, n_vocab: int = 16, step_seconds: float = 0.0
    ) -> None:
        self.n_ctx = n_ctx
        self._step_seconds = step_seconds  # how long a decode takes, for threaded tests
        self.n_batch = n_batch
        self._n_vocab = n_vocab
        self._cells: dict[int, set[int]] = {}  # cell -> the sequences that hold it
        self._seqs: dict[int, dict[int, int]] = {}  # sequence -> position -> cell
        self._next_cell = 0
        self.decodes = 0
        self.no_slot_answers = 0  # how often a decode found no free cells
        self.peak_cells = 0
        self.greedy_asked: list[list[int]] = []  # the indices of each greedy pass
        self.fail_next: int | None = None  # the code the next decode returns
        self.raise_next: BaseException | None = None  # what the next decode raises

    @property
    def context(self) -> Any:
        return None

    @property
    def used_cells(self) -> int:
        return len(self._cells)

    def positions(self, seq_id: int) -> list[int]:
        return sorted(self._seqs.get(seq_id, {}))

    def decode(self, entries: Sequence[BatchEntry]) -> int:
        self.decodes += 1
        if self._step_seconds:
            time.sleep(self._step_seconds)
        if self.raise_next is not None:
            error, self.raise_next = self.raise_next, None
            raise error
        if self.fail_next is not None:
            rc, self.fail_next = self.fail_next, None
            return rc
        if self.n_ctx - len(self._cells) < len(entries):
            self.no_slot_answers += 1
            return DECODE_NO_KV_SLOT
        for _token, pos, seq_id, _wants in entries:
            held = self._seqs.setdefault(seq_id, {})
            assert pos not in held, f"position {pos} of sequence {seq_id} written twice"
            assert pos == len(held), f"sequence {seq_id} skips to position {pos}"
            cell = self._next_cell
            self._next_cell += 1
            self._cells[cell] = {seq_id}
            held[pos] = cell
        self.peak_cells = max(self.peak_cells, len(self._cells))
        return DECODE_OK

    def logits(self, idx: int) -> Any:
        return np.zeros(self._n_vocab, dtype=np.float32)

    def greedy(self, indices: Sequence[int]) -> list[int | None]:
        """Token 100 + the entry's index, so a test sees which pick reached whom."""
        self.greedy_asked.append(list(indices))
        return [100 + idx for idx in indices]

    def copy(self, source: int, target: int, end: int = -1) -> None:
        for pos, cell in self._seqs.get(source, {}).items():
            if end < 0 or pos < end:
                self._cells[cell].add(target)
                self._seqs.setdefault(target, {})[pos] = cell

    def remove(self, seq_id: int) -> None:
        for cell in self._seqs.pop(seq_id, {}).values():
            holders = self._cells[cell]
            holders.discard(seq_id)
            if not holders:
                del self._cells[cell]

    def clear(self) -> None:
        self._cells.clear()
        self._seqs.clear()


class FakeChoice:
    """Writes `tokens` tokens (token id 7) and ends with `length`; with `fail_at`, raises
    when asked for that token, as a parser or sampler bug would. `picks` records the
    batch's greedy pick it was given for each token (a `greedy` one should get one)."""

    def __init__(
        self, tokens: int, *, index: int = 0, fail_at: int | None = None, greedy: bool = False
    ) -> None:
        self.finished = False
        self.generated = 0
        self.reasoning = 0
        self.greedy = greedy
        self.picks: list[int | None] = []
        self._tokens = tokens
        self._index = index
        self._fail_at = fail_at

    def start(self) -> list[Event]:
        return [PartStart(self._index, 0, PartKind.TEXT)]

    def advance(
        self, ctx: Any, idx: int, logits: Any, picked: int | None = None
    ) -> tuple[list[Event], list[int]]:
        if self._fail_at is not None and self.generated == self._fail_at:
            raise RecursionError("maximum recursion depth exceeded")
        self.picks.append(picked)
        self.generated += 1
        events: list[Event] = [PartDelta(self._index, 0, "t")]
        if self.generated >= self._tokens:
            self.finished = True
            return [
                *events,
                PartEnd(self._index, 0),
                ChoiceEnd(self._index, FinishReason.LENGTH),
            ], []
        return events, [7]


@dataclass
class Received:
    """What a job handed to its consumer, collected thread-safely."""

    items: list[object] = field(default_factory=list)
    ended: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, items: list[object]) -> None:
        with self.lock:
            assert not self.ended.is_set(), "items after END"
            self.items += items
            if END in items:
                assert items[-1] is END, "END is not last"
                self.ended.set()

    @property
    def error(self) -> OpenScopeError | None:
        errors = [i for i in self.items if isinstance(i, OpenScopeError)]
        return errors[-1] if errors else None

    @property
    def text(self) -> str:
        return "".join(i.text for i in self.items if isinstance(i, PartDelta))

    @property
    def usage(self) -> UsageReport | None:
        reports = [i for i in self.items if isinstance(i, UsageReport)]
        return reports[-1] if reports else None

    @property
    def started(self) -> bool:
        """The engine admitted it (its first usage report came)."""
        return self.usage is not None


def check_invariant(scheduler: Scheduler, jobs: Iterable[Job]) -> None:
    """Each job is in exactly the list its state names; ended jobs hold no sequence, and
    no sequence id is both free and held. Only while the engine thread is not running."""
    running, waiting = scheduler._running, scheduler._waiting
    free = scheduler._free_slots
    held = [s for j in running for s in j.seq_ids]
    assert len(held) == len(set(held)), "a sequence id is held twice"
    assert not set(held) & set(free), "a held sequence id is also free"
    assert len(held) + len(free) == scheduler._parallel, "sequence ids leaked"
    for job in jobs:
        in_waiting, in_running = job in waiting, job in running
        if job.state is JobState.WAITING:
            assert in_waiting and not in_running
        elif job.state is JobState.RUNNING:
            assert in_running and not in_waiting
        else:
            assert not in_waiting and not in_running and not job.seq_ids
