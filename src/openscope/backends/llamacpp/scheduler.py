"""Continuous batching: one engine thread decodes every live sequence together.

Each step builds one llama.cpp batch: a token (or a few) for every choice that is decoding,
then as much of waiting prompts as the batch has room for. Requests join between steps
when enough sequence slots and KV cells are free, and leave as soon as they finish, are
cancelled or time out, so a client that hangs up frees its slot within one step. A long
prompt is prefilled in chunks across steps, so the streams already running never wait for
a whole prefill.

Admission is by KV budget: a request is admitted only when every cell it may write (its
prompt, less what the prefix cache supplies, plus its token budget for each choice) is
free or can be freed by evicting cached prefixes. Otherwise it waits, so a request that
was answered never runs out of KV cells halfway.

Every job is in exactly one of three states, waiting, running or ended, and `_end` is the
one way out: it releases the job's sequences and hands its last items to the consumer. An
exception in one job's own work (parsing, masking, sampling, cache bookkeeping) ends that
job alone; only a failed `llama_decode` touches the other jobs of its batch.

A request starts from the longest cached prefix the prefix cache offers; when it finishes,
its KV is handed to the cache (an implicit entry, or an explicit one at its marker).
Requests with n > 1 choices prefill the prompt once and share its KV with the other choices.
"""

from __future__ import annotations

import collections
import enum
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from openscope.backends.base import EngineMetrics
from openscope.backends.llamacpp.context import DECODE_NO_KV_SLOT, DECODE_OK, BatchContext
from openscope.backends.llamacpp.prefix_cache import PrefixCache
from openscope.core.errors import InternalError, OpenScopeError, request_timed_out
from openscope.core.events import Event, Usage, UsageReport

log = logging.getLogger("openscope.llamacpp")

SHUTDOWN_MESSAGE = "The server is shutting down."
STOPPED_MESSAGE = "The embedded model stopped unexpectedly."
END = object()  # the last item a job delivers
# Events reach the event loop at most this often per request (the first ones at once): each
# hand-over wakes the loop's thread, which on a small machine takes a core from the decode
# threads mid-step (measured: single-stream decode 4% faster than handing over every token).
FLUSH_SECONDS = 0.04
# With requests waiting but none running the thread still wakes this often, for deadlines.
IDLE_POLL_SECONDS = 0.1
RATE_WINDOW_SECONDS = 5.0
_WAKE = object()
_STOP = object()

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


class EngineFault(RuntimeError):
    """llama_decode failed: the jobs of that batch cannot go on."""


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


@dataclass(slots=True)
class _Counters:
    prompt_tokens: int = 0
    cache_hit_tokens: int = 0
    generated_tokens: int = 0
    recent: collections.deque[tuple[float, int]] = field(
        default_factory=lambda: collections.deque(maxlen=512)
    )

    def rate(self, now: float) -> float:
        window = [(t, n) for t, n in self.recent if now - t <= RATE_WINDOW_SECONDS]
        if not window:
            return 0.0
        return sum(n for _, n in window) / max(now - window[0][0], 1e-3)


class Scheduler:
    def __init__(
        self,
        context: BatchContext,
        cache: PrefixCache,
        *,
        slots: range,
        prefill_chunk: int = 256,
        clock: Callable[[], float] = time.monotonic,
        handover: Handover = deliver_each,
    ) -> None:
        """`slots`: the sequence ids running requests use (the cache has its own);
        `prefill_chunk`: prompt tokens per step while other requests are decoding, so
        their next token is never more than one chunk away; `handover`: how a step's
        events reach their consumers (an end, or a first usage report, goes at once
        through the job's own deliver)."""
        self._prefill_chunk = prefill_chunk
        self._handover = handover
        self._ctx = context
        self._cache = cache
        self._parallel = len(slots)
        self._free_slots = list(reversed(slots))
        self._clock = clock
        self._inbox: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._waiting: collections.deque[Job] = collections.deque()
        self._running: list[Job] = []
        self._counters = _Counters()
        self._stopping = False  # the thread takes no more work
        self._stopped = False  # it was asked to stop (rather than failing)
        self._snapshot = EngineMetrics(
            parallel_sequences=self._parallel, kv_capacity_tokens=context.n_ctx
        )
        self._thread = threading.Thread(target=self._loop, name="llamacpp-engine", daemon=True)

    # --- called from the event loop ---------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._inbox.put(_STOP)
        if self._thread.is_alive():
            self._thread.join()

    @property
    def alive(self) -> bool:
        """The engine thread is running and takes work."""
        return self._thread.is_alive() and not self._stopping

    def submit(self, job: Job) -> None:
        self._inbox.put(job)

    def cancel(self, job: Job) -> None:
        job.cancelled = True
        self._inbox.put(_WAKE)

    def metrics(self) -> EngineMetrics:
        """The snapshot the engine thread published after its last step: it never reads
        state the engine thread is changing."""
        return self._snapshot

    # --- the engine thread ------------------------------------------------------------

    def _loop(self) -> None:
        try:
            while self.turn(wait=True):
                pass
        finally:
            self._stopping = True
            self._end_all(SHUTDOWN_MESSAGE if self._stopped else STOPPED_MESSAGE)

    def turn(self, *, wait: bool = False) -> bool:
        """One turn of the engine loop: take what the event loop sent (with `wait`, block
        for it while no job is running), then reap, admit and decode one step. False once
        asked to stop. The engine thread turns it forever; tests turn it by hand."""
        if not self._drain(wait=wait):
            return False
        try:
            self._reap()
            self._admit()
            if self._running:
                self._step()
        except Exception as error:
            # Not one job's own work (that ends the job alone): the scheduler's state is
            # in doubt, so everything running ends and the KV starts over.
            log.exception("engine step failed")
            self._reset(InternalError(f"The embedded model failed: {type(error).__name__}"))
        self._publish()
        return True

    def _drain(self, *, wait: bool) -> bool:
        """Take what the event loop sent. False once asked to stop."""
        try:
            if not wait or self._running:
                item = self._inbox.get_nowait()
            elif self._waiting:
                item = self._inbox.get(timeout=IDLE_POLL_SECONDS)
            else:
                item = self._inbox.get()
            while True:
                if item is _STOP:
                    self._stopped = True
                    return False
                if isinstance(item, Job):
                    self._waiting.append(item)
                item = self._inbox.get_nowait()
        except queue.Empty:
            return True

    def _reap(self) -> None:
        """End jobs whose consumer left, and fail those past their deadline."""
        now = self._clock()
        for job in [*self._waiting, *self._running]:
            if job.cancelled:
                self._end(job)
            elif job.deadline is not None and now > job.deadline:
                self._end(job, request_timed_out())

    # --- admission ----------------------------------------------------------------------

    def _kv_free(self) -> int:
        held = sum(job.reserved for job in self._running) + self._cache.used_tokens
        return self._ctx.n_ctx - held

    def _admit(self) -> None:
        """Start waiting jobs, oldest first, while slots and KV cells last."""
        while self._waiting and len(self._free_slots) >= len(self._waiting[0].choices):
            job = self._waiting[0]
            try:
                if not self._try_admit(job):
                    return
            except Exception as error:
                log.exception("admitting a request failed")
                self._end(job, _job_failure(error))

    def _try_admit(self, job: Job) -> bool:
        hit = self._cache.lookup(
            job.prompt,
            explicit=job.explicit,
            marks=None if job.session else job.marks,
            ttl=job.cache_ttl,
        )
        reuse = hit.reuse if hit is not None else 0
        need = job.kv_need(reuse)
        while self._kv_free() < need:
            victim = self._cache.evict_oldest(keep=hit.seq_id if hit is not None else None)
            if victim is None:
                return False  # it waits for running requests to finish
            self._forget_entry(victim)
        self._waiting.popleft()
        job.state = JobState.RUNNING
        self._running.append(job)
        job.seq_ids = [self._free_slots.pop() for _ in job.choices]
        job.reserved = need
        if job.run_timeout is not None:
            job.deadline = self._clock() + job.run_timeout
        if hit is not None:
            self._ctx.copy(hit.seq_id, job.seq_ids[0], hit.reuse)
            job.source, job.reused = hit.seq_id, hit.reuse
            job.prefilled = hit.reuse
            job.cached = hit.reported
            self._counters.cache_hit_tokens += hit.reported
        self._counters.prompt_tokens += len(job.prompt)
        job.positions = [len(job.prompt)] * len(job.choices)
        job.feeds = [[] for _ in job.choices]
        job.deliver([UsageReport(self._usage(job))])  # lets the protocol answer now
        return True

    def _forget_entry(self, seq_id: int) -> None:
        """A cache entry is gone: free its cells. A running job whose prompt shares them
        now holds them alone, so they count against its budget instead."""
        self._ctx.remove(seq_id)
        for job in self._running:
            if job.source == seq_id:
                job.reserved += job.reused
                job.source, job.reused = None, 0

    # --- one step -----------------------------------------------------------------------

    def _step(self) -> None:
        entries: list[tuple[int, int, int, bool]] = []
        outputs: list[tuple[Job, int | None, int]] = []  # (job, choice or None: prompt, idx)
        for job in self._running:
            if not job.decoding:
                continue
            for c, feed in enumerate(job.feeds):
                if not feed:
                    continue
                start = job.positions[c]
                seq_id = job.seq_ids[c]
                last = len(feed) - 1
                entries += [(t, start + k, seq_id, k == last) for k, t in enumerate(feed)]
                outputs.append((job, c, len(entries) - 1))
        room = self._ctx.n_batch - len(entries)
        if entries:  # streams are waiting on this step: keep it short
            room = min(room, self._prefill_chunk)
        prefill: list[tuple[Job, int]] = []
        for job in self._running:
            if job.decoding or room <= 0:
                continue
            start = job.prefilled
            take = min(len(job.prompt) - start, room)
            end = start + take
            seq_id = job.seq_ids[0]
            entries += [
                (job.prompt[p], p, seq_id, p == len(job.prompt) - 1) for p in range(start, end)
            ]
            prefill.append((job, end))
            if end == len(job.prompt):
                outputs.append((job, None, len(entries) - 1))
            room -= take
        if not entries:
            return
        try:
            self._decode(entries)
        except EngineFault as fault:
            log.error("%s", fault)
            failure = InternalError(f"The embedded model failed: {fault}")
            for job in {job for job, _ in prefill} | {job for job, _, _ in outputs}:
                self._end(job, failure)
            return
        for job, end in prefill:
            job.prefilled = end
        picks = self._greedy_picks(outputs)
        sampled = 0
        for job, choice, idx in outputs:
            if job.state is not JobState.RUNNING:
                continue  # failed earlier in this step
            try:
                sampled += self._advance(job, choice, idx, picks.get(idx))
            except Exception as error:
                log.exception("a request failed in its own step")
                self._end(job, _job_failure(error))
        now = self._clock()
        self._counters.generated_tokens += sampled
        self._counters.recent.append((now, sampled))
        due: list[tuple[Deliver, list[object]]] = []
        for job in list(self._running):
            if job.decoding and job.done:
                self._finish(job)
            elif items := job.take_due(now):
                due.append((job.deliver, items))
        if due:
            self._handover(due)

    def _greedy_picks(self, outputs: list[tuple[Job, int | None, int]]) -> dict[int, int | None]:
        """The greedy pick of every output some greedy choice reads, in one pass over the
        batch's logits, before any choice's grammar mask edits them."""
        wanted = [
            idx
            for job, choice, idx in outputs
            if any(c.greedy for c in (job.choices if choice is None else [job.choices[choice]]))
        ]
        return dict(zip(wanted, self._ctx.greedy(wanted), strict=True)) if wanted else {}

    def _decode(self, entries: list[tuple[int, int, int, bool]]) -> None:
        """Decode the batch. Admission keeps the cells running jobs need free, so running
        out means cached prefixes hold more than counted: they go, least recently used
        first."""
        while True:
            rc = self._ctx.decode(entries)
            if rc == DECODE_OK:
                return
            if rc != DECODE_NO_KV_SLOT:
                raise EngineFault(f"llama_decode returned {rc}")
            victim = self._cache.evict_oldest()
            if victim is None:
                raise EngineFault("no KV cell left for the batch")
            self._forget_entry(victim)

    def _advance(self, job: Job, choice: int | None, idx: int, picked: int | None) -> int:
        """Sample one choice (None: the prompt is in, so all of them); `picked` is the
        greedy pick of output `idx`, if a greedy choice reads it. Returns how many tokens
        were sampled."""
        if choice is None:
            return self._begin(job, idx, picked)
        feed = job.feeds[choice]
        job.positions[choice] += len(feed)
        if choice == 0:
            job.tail += feed
        events, job.feeds[choice] = job.choices[choice].advance(
            self._ctx.context, idx, self._ctx.logits(idx), picked
        )
        job.outbox += events
        return 1

    def _begin(self, job: Job, idx: int, picked: int | None) -> int:
        """The prompt is in: share its KV with the other choices and sample their first
        tokens from the same logits (restored before each choice, so the greedy pick of
        them holds for every greedy one)."""
        for seq_id in job.seq_ids[1:]:
            self._ctx.copy(job.seq_ids[0], seq_id)
        logits = self._ctx.logits(idx)
        pristine = logits.copy() if len(job.choices) > 1 else None
        events: list[Event] = []
        sampled = 0
        for c, run in enumerate(job.choices):
            events += run.start()
            if run.finished:
                continue
            if pristine is not None:
                logits[:] = pristine  # a grammar mask edits the logits in place
            produced, job.feeds[c] = run.advance(self._ctx.context, idx, logits, picked)
            events += produced
            sampled += 1
        job.outbox += events
        return sampled

    def _finish(self, job: Job) -> None:
        creation = 0
        try:
            creation = self._keep_in_cache(job)
        except Exception:
            # The answer is whole; only the cache entry is lost.
            log.exception("keeping a finished prompt in the prefix cache failed")
        self._end(job, usage=self._usage(job, creation))

    def _keep_in_cache(self, job: Job) -> int:
        """Hand the finished sequence's KV to the prefix cache. Returns the tokens written
        to an explicit entry (0 when none was created)."""
        tokens = job.prompt + job.tail
        mark = job.marks[-1] if job.marks else 0
        creating = job.explicit and mark > job.cached and mark >= self._cache.explicit_min
        placement = self._cache.place(tokens, marked=mark if creating else 0, ttl=job.cache_ttl)
        if placement is None:
            return 0
        for seq_id in placement.evicted:
            self._forget_entry(seq_id)
        try:
            self._ctx.copy(job.seq_ids[0], placement.seq_id)
        except BaseException:
            self._cache.discard(placement.seq_id)  # never offer an entry without its KV
            self._ctx.remove(placement.seq_id)
            raise
        return mark - job.cached if creating else 0

    # --- ending -------------------------------------------------------------------------

    def _end(
        self, job: Job, failure: OpenScopeError | None = None, *, usage: Usage | None = None
    ) -> None:
        """The one way a job leaves the engine: out of its list, its sequences freed, and
        its last items (an error or the final usage, then END) handed over."""
        if job.state is JobState.ENDED:
            return
        if job.state is JobState.RUNNING:
            self._running.remove(job)
        else:
            self._waiting.remove(job)
        job.state = JobState.ENDED
        try:
            self._release(job)
            self._publish()  # whoever hears of the end sees the engine without the job
        finally:
            final: list[object] = []
            if failure is not None:
                final.append(failure)
            elif usage is not None:
                final.append(UsageReport(usage))
            final.append(END)
            job.flush(self._clock(), final=tuple(final))

    def _release(self, job: Job) -> None:
        seq_ids, job.seq_ids = job.seq_ids, []
        job.reserved, job.source, job.reused = 0, None, 0
        for seq_id in seq_ids:
            self._free_slots.append(seq_id)  # the slot comes back even if removal fails
        for seq_id in seq_ids:
            self._ctx.remove(seq_id)

    def _reset(self, failure: OpenScopeError) -> None:
        """End every running job with `failure` and start the KV afresh; waiting jobs
        are still served."""
        for job in list(self._running):
            try:
                self._end(job, failure)
            except Exception:
                log.exception("ending a request after an engine failure failed")
        self._running.clear()
        self._cache.clear()
        self._ctx.clear()

    def _end_all(self, message: str) -> None:
        """The thread is ending: every job it knows of, and every one still in the inbox,
        gets an error instead of waiting forever."""
        while True:
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, Job):
                self._waiting.append(item)
        for job in [*self._running, *self._waiting]:
            try:
                self._end(job, InternalError(message))  # delivers even if a release fails
            except Exception:
                log.exception("ending a request at shutdown failed")

    # --- reporting ----------------------------------------------------------------------

    def _publish(self) -> None:
        counters = self._counters
        running = self._running
        self._snapshot = EngineMetrics(
            queue_depth=len(self._waiting),
            running_sequences=sum(len(j.choices) for j in running),
            parallel_sequences=self._parallel,
            kv_used_tokens=_written(running) + self._cache.used_tokens,
            kv_reserved_tokens=self._ctx.n_ctx - self._kv_free(),
            kv_capacity_tokens=self._ctx.n_ctx,
            cached_prefixes=self._cache.entries,
            cache_hit_tokens_total=counters.cache_hit_tokens,
            prompt_tokens_total=counters.prompt_tokens,
            generated_tokens_total=counters.generated_tokens,
            tokens_per_second=counters.rate(self._clock()),
        )

    def _usage(self, job: Job, creation: int = 0) -> Usage:
        return Usage(
            input_tokens=len(job.prompt),
            output_tokens=sum(c.generated for c in job.choices),
            reasoning_tokens=sum(c.reasoning for c in job.choices),
            cached_tokens=job.cached,
            cache_creation_tokens=creation,
            cache_type="ephemeral" if job.explicit else None,
        )


def _written(running: list[Job]) -> int:
    """KV cells the running jobs have written so far (their prompt counted once)."""
    total = 0
    for job in running:
        total += job.prefilled
        total += sum(p - len(job.prompt) for p in job.positions if p > len(job.prompt))
    return total


def _job_failure(error: Exception) -> OpenScopeError:
    if isinstance(error, OpenScopeError):
        return error
    return InternalError(f"The embedded model failed on this request: {type(error).__name__}")
