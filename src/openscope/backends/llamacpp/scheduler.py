"""Continuous batching: one engine thread decodes every live sequence together.

Each step builds one llama.cpp batch: a token (or a few) for every choice that is decoding,
then as much of waiting prompts as the batch has room for. Requests join between steps
when enough sequence slots are free, and leave as soon as they finish, are cancelled or time
out, so a client that hangs up frees its slot within one step. A long prompt is prefilled in
chunks across steps, so the streams already running never wait for a whole prefill.

A request starts from the longest cached prefix the prefix cache offers; when it finishes,
its KV is handed to the cache (an implicit entry, or an explicit one at its marker).
Requests with n > 1 choices prefill the prompt once and share its KV with the other choices.
"""

from __future__ import annotations

import collections
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from openscope.backends.base import EngineMetrics
from openscope.backends.llamacpp.choice import ChoiceRun
from openscope.backends.llamacpp.context import DECODE_NO_KV_SLOT, DECODE_OK, BatchContext
from openscope.backends.llamacpp.prefix_cache import PrefixCache
from openscope.core.errors import InternalError, OpenScopeError
from openscope.core.events import Event, Usage, UsageReport

log = logging.getLogger("openscope.llamacpp")

TIMEOUT_MESSAGE = "Request timed out, please try again later."
END = object()  # the last item a job delivers
# Events reach the event loop at most this often per request (the first ones at once): each
# hand-over wakes the loop's thread, which on a small machine takes a core from the decode
# threads mid-step (measured: single-stream decode 4% faster than handing over every token).
FLUSH_SECONDS = 0.04
_WAKE = object()
_STOP = object()

Deliver = Callable[[list[object]], None]


@dataclass(eq=False)
class Job:
    """One request as the engine thread sees it."""

    prompt: list[int]
    choices: list[ChoiceRun]
    deliver: Deliver  # thread-safe: hands events (or an error, then END) to the consumer
    explicit: bool = False  # explicit or session cache: only explicit entries serve it
    session: bool = False  # session cache: any live explicit entry of its prefix serves it
    marks: tuple[int, ...] = ()  # token counts at its cache markers, in order
    deadline: float | None = None  # monotonic time past which it fails
    cancelled: bool = False  # set from the event loop when the consumer goes away
    # engine-thread state
    seq_ids: list[int] = field(default_factory=list)
    prefilled: int = 0
    cached: int = 0  # prompt tokens reported as read from the cache
    positions: list[int] = field(default_factory=list)
    feeds: list[list[int]] = field(default_factory=list)
    tail: list[int] = field(default_factory=list)  # tokens after the prompt in choice 0's KV
    outbox: list[object] = field(default_factory=list)  # events not yet handed over
    flushed_at: float | None = None  # when events were last handed over

    def flush(self, now: float, *, final: tuple[object, ...] = ()) -> None:
        """Hand pending events over if it is time (or with `final` items: always)."""
        due = self.flushed_at is None or now - self.flushed_at >= FLUSH_SECONDS
        if final or (self.outbox and due):
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


class Scheduler:
    def __init__(
        self,
        context: BatchContext,
        cache: PrefixCache,
        *,
        slots: range,
        overloaded: Callable[[], OpenScopeError],
        prefill_chunk: int = 256,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`slots`: the sequence ids running requests use (the cache has its own);
        `overloaded`: the error for a request pushed out when the KV cells run out;
        `prefill_chunk`: prompt tokens per step while other requests are decoding, so
        their next token is never more than one chunk away."""
        self._prefill_chunk = prefill_chunk
        self._overloaded = overloaded
        self._ctx = context
        self._cache = cache
        self._parallel = len(slots)
        self._free_slots = list(reversed(slots))
        self._clock = clock
        self._inbox: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._waiting: collections.deque[Job] = collections.deque()
        self._running: list[Job] = []
        self._counters = _Counters()
        self._thread = threading.Thread(target=self._loop, name="llamacpp-engine", daemon=True)

    # --- called from the event loop ---------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._inbox.put(_STOP)
        self._thread.join()

    def submit(self, job: Job) -> None:
        self._inbox.put(job)

    def cancel(self, job: Job) -> None:
        job.cancelled = True
        self._inbox.put(_WAKE)

    def metrics(self) -> EngineMetrics:
        counters = self._counters
        now = self._clock()
        window = [(t, n) for t, n in list(counters.recent) if now - t <= 5.0]
        rate = 0.0
        if window:
            span = max(now - window[0][0], 1e-3)
            rate = sum(n for _, n in window) / span
        running = list(self._running)
        live = sum(len(j.prompt) + len(j.tail) for j in running)
        return EngineMetrics(
            queue_depth=len(self._waiting),
            running_sequences=sum(len(j.choices) for j in running),
            parallel_sequences=self._parallel,
            kv_used_tokens=live + self._cache.used_tokens,
            kv_capacity_tokens=self._ctx.n_ctx,
            cached_prefixes=self._cache.entries,
            cache_hit_tokens_total=counters.cache_hit_tokens,
            prompt_tokens_total=counters.prompt_tokens,
            generated_tokens_total=counters.generated_tokens,
            tokens_per_second=rate,
        )

    # --- the engine thread ------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            idle = not self._running and not self._waiting
            if not self._drain(block=idle):
                break
            try:
                self._reap()
                self._admit()
                if self._running:
                    self._step()
            except Exception as error:  # the context is in an unknown state: fail all
                log.exception("engine step failed")
                failure = InternalError(f"The embedded model failed: {type(error).__name__}")
                for job in self._running:
                    self._release(job)
                    job.flush(self._clock(), final=(failure, END))
                self._running.clear()
        for job in [*self._running, *self._waiting]:
            if job.cancelled:
                continue  # nobody is listening
            job.flush(self._clock(), final=(InternalError("The server is shutting down."), END))

    def _drain(self, *, block: bool) -> bool:
        """Take what the event loop sent. False once asked to stop."""
        try:
            item = self._inbox.get() if block else self._inbox.get_nowait()
            while True:
                if item is _STOP:
                    return False
                if isinstance(item, Job):
                    self._waiting.append(item)
                item = self._inbox.get_nowait()
        except queue.Empty:
            return True

    def _reap(self) -> None:
        """Drop jobs whose consumer left, and fail those past their deadline."""
        now = self._clock()
        for job in [*self._waiting, *self._running]:
            timed_out = job.deadline is not None and now > job.deadline and not job.cancelled
            if not (job.cancelled or timed_out):
                continue
            if job in self._running:
                self._running.remove(job)
                self._release(job)
            else:
                self._waiting.remove(job)
            ending: list[object] = [END]
            if timed_out:
                ending.insert(0, InternalError(TIMEOUT_MESSAGE, code="RequestTimeOut"))
            job.flush(now, final=tuple(ending))

    def _admit(self) -> None:
        while self._waiting and len(self._free_slots) >= len(self._waiting[0].choices):
            job = self._waiting.popleft()
            job.seq_ids = [self._free_slots.pop() for _ in job.choices]
            hit = self._cache.lookup(
                job.prompt, explicit=job.explicit, marks=None if job.session else job.marks
            )
            if hit is not None:
                self._ctx.copy(hit.seq_id, job.seq_ids[0], hit.reuse)
                job.prefilled = hit.reuse
                job.cached = hit.reported
                self._counters.cache_hit_tokens += hit.reported
            self._counters.prompt_tokens += len(job.prompt)
            job.positions = [len(job.prompt)] * len(job.choices)
            job.feeds = [[] for _ in job.choices]
            job.deliver([UsageReport(self._usage(job))])  # lets the protocol answer now
            self._running.append(job)

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
        if not entries or not self._decode(entries):
            return
        for job, end in prefill:
            job.prefilled = end
        sampled = 0
        for job, choice, idx in outputs:
            if choice is None:
                sampled += self._begin(job, idx)
                continue
            feed = job.feeds[choice]
            job.positions[choice] += len(feed)
            if choice == 0:
                job.tail += feed
            events, job.feeds[choice] = job.choices[choice].advance(
                self._ctx.context, idx, self._ctx.logits(idx)
            )
            sampled += 1
            job.outbox += events
        now = self._clock()
        self._counters.generated_tokens += sampled
        self._counters.recent.append((now, sampled))
        for job in list(self._running):
            if job.decoding and job.done:
                self._finish(job)
            else:
                job.flush(now)

    def _decode(self, entries: list[tuple[int, int, int, bool]]) -> bool:
        """Decode the batch, making room when the KV cells run out: cached prefixes go
        first, then the youngest request (it fails as overloaded and the step is rebuilt).
        False: the batch was not decoded."""
        while True:
            rc = self._ctx.decode(entries)
            if rc == DECODE_OK:
                return True
            if rc != DECODE_NO_KV_SLOT:
                raise RuntimeError(f"llama_decode returned {rc}")
            evicted = self._cache.evict_oldest()
            if evicted is not None:
                self._ctx.remove(evicted)
                continue
            youngest = self._running.pop()
            self._release(youngest)
            youngest.flush(self._clock(), final=(self._overloaded(), END))
            return False

    def _begin(self, job: Job, idx: int) -> int:
        """The prompt is in: share its KV with the other choices and sample their first
        tokens from the same logits."""
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
            produced, job.feeds[c] = run.advance(self._ctx.context, idx, logits)
            events += produced
            sampled += 1
        job.outbox += events
        return sampled

    def _finish(self, job: Job) -> None:
        self._running.remove(job)
        creation = self._keep_in_cache(job)
        self._release(job)
        job.flush(self._clock(), final=(UsageReport(self._usage(job, creation)), END))

    def _keep_in_cache(self, job: Job) -> int:
        """Hand the finished sequence's KV to the prefix cache. Returns the tokens written
        to an explicit entry (0 when none was created)."""
        tokens = job.prompt + job.tail
        mark = job.marks[-1] if job.marks else 0
        creating = job.explicit and mark > job.cached and mark >= self._cache.explicit_min
        placement = self._cache.place(tokens, marked=mark if creating else 0)
        if placement is None:
            return 0
        for seq_id in placement.evicted:
            self._ctx.remove(seq_id)
        self._ctx.copy(job.seq_ids[0], placement.seq_id)
        return mark - job.cached if creating else 0

    def _release(self, job: Job) -> None:
        for seq_id in job.seq_ids:
            self._ctx.remove(seq_id)
            self._free_slots.append(seq_id)
        job.seq_ids = []

    def _usage(self, job: Job, creation: int = 0) -> Usage:
        return Usage(
            input_tokens=len(job.prompt),
            output_tokens=sum(c.generated for c in job.choices),
            reasoning_tokens=sum(c.reasoning for c in job.choices),
            cached_tokens=job.cached,
            cache_creation_tokens=creation,
            cache_type="ephemeral" if job.explicit else None,
        )
