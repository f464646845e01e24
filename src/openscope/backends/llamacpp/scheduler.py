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

The scheduler keeps admission, the step loop and each job's way through its states; what
a step decodes is composed in `step_batch`, what it produced is sampled in `step_output`,
and a job itself is `job.Job`.
"""

from __future__ import annotations

import collections
import logging
import queue
import threading
import time
from collections.abc import Callable

from openscope.backends.base import EngineMetrics
from openscope.backends.llamacpp.context import (
    DECODE_NO_KV_SLOT,
    DECODE_OK,
    BatchContext,
    BatchEntry,
)
from openscope.backends.llamacpp.engine_counters import EngineCounters
from openscope.backends.llamacpp.job import END, Deliver, Handover, Job, JobState, deliver_each
from openscope.backends.llamacpp.prefix_cache import PrefixCache
from openscope.backends.llamacpp.step_batch import step_batch
from openscope.backends.llamacpp.step_output import advance, output_greedy_picks
from openscope.core.errors import InternalError, OpenScopeError, request_timed_out
from openscope.core.events import Usage, UsageReport

log = logging.getLogger("openscope.llamacpp")

SHUTDOWN_MESSAGE = "The server is shutting down."
STOPPED_MESSAGE = "The embedded model stopped unexpectedly."
# With requests waiting but none running the thread still wakes this often, for deadlines.
IDLE_POLL_SECONDS = 0.1
_WAKE = object()
_STOP = object()


class EngineFault(RuntimeError):
    """llama_decode failed: the jobs of that batch cannot go on."""


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
        self._counters = EngineCounters()
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
        job.deliver([UsageReport(job.usage())])  # lets the protocol answer now
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
        batch = step_batch(self._running, self._ctx.n_batch, self._prefill_chunk)
        entries, outputs, prefill = batch.entries, batch.outputs, batch.prefill
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
        picks = output_greedy_picks(self._ctx, outputs)
        sampled = 0
        for output in outputs:
            job = output.job
            if job.state is not JobState.RUNNING:
                continue  # failed earlier in this step
            try:
                sampled += advance(self._ctx, output, picks.get(output.idx))
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

    def _decode(self, entries: list[BatchEntry]) -> None:
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

    def _finish(self, job: Job) -> None:
        creation = 0
        try:
            creation = self._keep_in_cache(job)
        except Exception:
            # The answer is whole; only the cache entry is lost.
            log.exception("keeping a finished prompt in the prefix cache failed")
        self._end(job, usage=job.usage(creation))

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
            kv_used_tokens=sum(job.written for job in running) + self._cache.used_tokens,
            kv_reserved_tokens=self._ctx.n_ctx - self._kv_free(),
            kv_capacity_tokens=self._ctx.n_ctx,
            cached_prefixes=self._cache.entries,
            cache_hit_tokens_total=counters.cache_hit_tokens,
            prompt_tokens_total=counters.prompt_tokens,
            generated_tokens_total=counters.generated_tokens,
            tokens_per_second=counters.rate(self._clock()),
        )


def _job_failure(error: Exception) -> OpenScopeError:
    if isinstance(error, OpenScopeError):
        return error
    return InternalError(f"The embedded model failed on this request: {type(error).__name__}")
