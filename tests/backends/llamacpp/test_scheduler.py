"""The scheduler over a fake KV cache: failures stay with their job, KV exhaustion queues,
the cache gives way oldest first, shutdown reaches every job, and every turn keeps the
job invariant. No model is loaded; most tests turn the engine loop by hand."""

from __future__ import annotations

import random
import time

import pytest

from openscope.backends.llamacpp.job import Choice, Deliver, Handover, Job, JobState, deliver_each
from openscope.backends.llamacpp.prefix_cache import PrefixCache
from openscope.backends.llamacpp.scheduler import SHUTDOWN_MESSAGE, STOPPED_MESSAGE, Scheduler
from openscope.core.errors import TIMEOUT_MESSAGE, InternalError
from tests.backends.llamacpp.fakes import (
    FakeBatchContext,
    FakeChoice,
    Received,
    check_invariant,
)

PARALLEL = 4
CACHE_SEQS = range(PARALLEL, PARALLEL + 8)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def build(
    n_ctx: int = 1000,
    *,
    cache_tokens: int = 0,
    clock: FakeClock | None = None,
    n_batch: int = 512,
    step_seconds: float = 0.0,
    handover: Handover = deliver_each,
) -> tuple[Scheduler, FakeBatchContext, PrefixCache]:
    ctx = FakeBatchContext(n_ctx, n_batch=n_batch, step_seconds=step_seconds)
    clock = clock or FakeClock()
    cache = PrefixCache(CACHE_SEQS, cache_tokens, implicit_min=4, explicit_min=8, clock=clock)
    scheduler = Scheduler(
        ctx, cache, slots=range(PARALLEL), prefill_chunk=64, clock=clock, handover=handover
    )
    return scheduler, ctx, cache


def job(
    prompt: list[int] | int,
    tokens: int = 5,
    *,
    n: int = 1,
    fail_at: int | None = None,
    deadline: float | None = None,
    greedy: bool = False,
) -> tuple[Job, Received]:
    tokens_of = list(range(1, prompt + 1)) if isinstance(prompt, int) else prompt
    received = Received()
    choices: list[Choice] = [
        FakeChoice(tokens, index=i, fail_at=fail_at, greedy=greedy) for i in range(n)
    ]
    return (
        Job(tokens_of, choices, received, max_new=tokens, deadline=deadline),
        received,
    )


def run(scheduler: Scheduler, jobs: list[Job], *, turns: int = 10_000) -> None:
    """Turn the loop until every job has ended, checking the invariant after each turn."""
    for _ in range(turns):
        scheduler.turn()
        check_invariant(scheduler, jobs)
        if all(j.state is JobState.ENDED for j in jobs):
            return
    raise AssertionError("jobs did not end")


def test_a_job_that_fails_in_its_own_step_fails_alone() -> None:
    scheduler, ctx, _ = build()
    healthy = [job(10 + i, tokens=8) for i in range(3)]
    broken, broken_got = job(12, tokens=8, fail_at=3)
    jobs = [j for j, _ in healthy] + [broken]
    for j in jobs:
        scheduler.submit(j)
    run(scheduler, jobs)
    assert isinstance(broken_got.error, InternalError)
    assert "RecursionError" in broken_got.error.message
    assert broken_got.text == "ttt"
    for _, got in healthy:
        assert got.error is None
        assert got.text == "t" * 8
        assert got.usage is not None and got.usage.usage.output_tokens == 8
    assert ctx.used_cells == 0  # nothing cached (no cache budget), nothing leaked


def test_a_job_that_fails_on_its_first_token_fails_alone() -> None:
    scheduler, _, _ = build()
    fine, fine_got = job(20, tokens=4)
    broken, broken_got = job(20, tokens=4, fail_at=0)
    run_jobs = [fine, broken]
    for j in run_jobs:
        scheduler.submit(j)
    run(scheduler, run_jobs)
    assert broken_got.error is not None
    assert fine_got.error is None and fine_got.text == "tttt"


def test_kv_exhaustion_queues_instead_of_failing() -> None:
    # Each job may need 30 + 50 cells; 200 cells hold two of them, not three.
    scheduler, ctx, _ = build(n_ctx=200)
    pairs = [job(30 + i, tokens=50) for i in range(4)]
    jobs = [j for j, _ in pairs]
    for j in jobs:
        scheduler.submit(j)
    scheduler.turn()
    assert [j.state for j in jobs] == [JobState.RUNNING] * 2 + [JobState.WAITING] * 2
    assert scheduler.metrics().queue_depth == 2
    run(scheduler, jobs)
    for _, got in pairs:
        assert got.error is None
        assert got.text == "t" * 50
    assert ctx.no_slot_answers == 0
    assert ctx.peak_cells <= 200


def test_a_full_length_prompt_never_runs_out_mid_answer_under_load() -> None:
    # The scenario, scaled down: eight long prompts whose answers together would
    # overrun the cells if all were admitted at once.
    scheduler, ctx, _ = build(n_ctx=800, cache_tokens=400)
    pairs = [job([i + 1] * 180, tokens=40) for i in range(8)]
    jobs = [j for j, _ in pairs]
    for j in jobs:
        scheduler.submit(j)
    run(scheduler, jobs)
    assert all(got.error is None and got.text == "t" * 40 for _, got in pairs)
    assert ctx.no_slot_answers == 0


def with_two_cached_prompts() -> tuple[Scheduler, FakeBatchContext, PrefixCache]:
    """120 cells: prompts [1] * 30 and then [2] * 30 answered and cached (34 cells each,
    the older first), 52 cells free."""
    clock = FakeClock()
    scheduler, ctx, cache = build(n_ctx=120, cache_tokens=100, clock=clock)
    for prompt in ([1] * 30, [2] * 30):
        done, _ = job(prompt, tokens=5)
        scheduler.submit(done)
        run(scheduler, [done])
        clock.now += 1
    assert cache.entries == 2
    return scheduler, ctx, cache


def test_admission_evicts_cached_prefixes_oldest_first() -> None:
    scheduler, ctx, cache = with_two_cached_prompts()
    # 60 cells: one entry has to go, and it is the older one.
    third, third_got = job([3] * 30, tokens=30)
    scheduler.submit(third)
    scheduler.turn()
    assert third.state is JobState.RUNNING
    assert cache.entries == 1
    assert cache.lookup([2] * 30 + [9], explicit=False) is not None
    assert cache.lookup([1] * 30 + [9], explicit=False) is None
    run(scheduler, [third])
    assert third_got.error is None
    assert ctx.no_slot_answers == 0


def test_a_cache_hit_is_kept_while_others_make_room() -> None:
    scheduler, _, cache = with_two_cached_prompts()
    # Starts from the older entry: the newer one is evicted instead.
    reader, got = job([1] * 30 + [5] * 10, tokens=50)  # 60 cells, 52 free
    scheduler.submit(reader)
    scheduler.turn()
    assert reader.state is JobState.RUNNING
    assert reader.cached == 30
    assert cache.lookup([2] * 30 + [9], explicit=False) is None
    run(scheduler, [reader])
    assert got.error is None and got.usage is not None
    assert got.usage.usage.cached_tokens == 30
    assert cache.entries == 1


def test_losing_a_shared_entry_moves_its_cells_onto_the_reader() -> None:
    clock = FakeClock()
    scheduler, ctx, cache = build(n_ctx=200, cache_tokens=100, clock=clock)
    writer, _ = job([1] * 40, tokens=2)
    scheduler.submit(writer)
    run(scheduler, [writer])
    reader, _ = job([1] * 41 + [3] * 9, tokens=20)
    scheduler.submit(reader)
    scheduler.turn()
    assert reader.source is not None
    before, shared = reader.reserved, reader.reused
    assert shared == 40
    source = reader.source
    cache.discard(source)
    scheduler._forget_entry(source)
    assert reader.reserved == before + shared
    run(scheduler, [reader])
    assert ctx.no_slot_answers == 0


def test_every_turn_keeps_the_invariant_under_a_random_mix() -> None:
    rng = random.Random(7)
    clock = FakeClock()
    scheduler, ctx, cache = build(n_ctx=600, cache_tokens=200, clock=clock, n_batch=128)
    pairs = []
    for i in range(60):
        prompt = [rng.randrange(3)] * rng.randrange(5, 60) + [i]
        pairs.append(
            job(
                prompt,
                tokens=rng.randrange(1, 40),
                n=rng.choice([1, 1, 1, 2]),
                fail_at=rng.choice([None] * 8 + [0, 3]),
                deadline=clock.now + rng.choice([1e9] * 9 + [3]),
            )
        )
    jobs = [j for j, _ in pairs]
    for step in range(5000):
        if step < len(jobs):
            scheduler.submit(jobs[step])
        if step % 7 == 0 and step < len(jobs):
            jobs[rng.randrange(step + 1)].cancelled = True
        clock.now += 0.1
        scheduler.turn()
        check_invariant(scheduler, jobs[: step + 1])
        if step >= len(jobs) and all(j.state is JobState.ENDED for j in jobs):
            break
    assert all(j.state is JobState.ENDED for j in jobs)
    assert all(got.ended.is_set() for _, got in pairs)
    assert ctx.no_slot_answers == 0
    # What is left in the KV is exactly what the cache holds.
    assert ctx.used_cells <= sum(len(ctx.positions(s)) for s in CACHE_SEQS)
    for seq_id in range(PARALLEL):
        assert ctx.positions(seq_id) == []
    assert scheduler.metrics().running_sequences == 0
    assert cache.entries >= 1


def test_a_timed_out_job_fails_and_frees_its_sequence() -> None:
    clock = FakeClock()
    scheduler, ctx, _ = build(clock=clock)
    slow, got = job(10, tokens=1000, deadline=clock.now + 5)
    scheduler.submit(slow)
    scheduler.turn()
    clock.now += 6
    run(scheduler, [slow])
    assert got.error is not None and got.error.message == TIMEOUT_MESSAGE
    assert got.error.code == "RequestTimeOut"
    assert ctx.used_cells == 0


def test_time_spent_waiting_never_cuts_a_started_stream_short() -> None:
    clock = FakeClock()
    scheduler, _, _ = build(n_ctx=90, clock=clock)
    first, _ = job(20, tokens=30)
    second, second_got = job(20, tokens=30, deadline=clock.now + 5)
    second.run_timeout = 5
    scheduler.submit(first)
    scheduler.submit(second)
    scheduler.turn()
    assert second.state is JobState.WAITING
    clock.now += 4  # most of its time goes by in the line
    run(scheduler, [first])
    scheduler.turn()
    assert second.state is JobState.RUNNING
    clock.now += 2  # past the first deadline, within the one it got when it started
    run(scheduler, [second])
    assert second_got.error is None and second_got.text == "t" * 30


def test_a_job_still_waiting_at_its_deadline_fails_before_it_starts() -> None:
    clock = FakeClock()
    scheduler, _, _ = build(n_ctx=90, clock=clock)
    first, _ = job(20, tokens=30)
    second, second_got = job(20, tokens=30, deadline=clock.now + 5)
    scheduler.submit(first)
    scheduler.submit(second)
    scheduler.turn()
    clock.now += 6
    scheduler.turn()
    assert second.state is JobState.ENDED
    assert not second_got.started
    assert second_got.error is not None and second_got.error.message == TIMEOUT_MESSAGE


def test_a_failed_decode_ends_only_the_jobs_of_that_batch() -> None:
    scheduler, ctx, _ = build(n_ctx=90)
    running, running_got = job(20, tokens=30)
    waiting, waiting_got = job(20, tokens=30)
    scheduler.submit(running)
    scheduler.submit(waiting)
    scheduler.turn()
    assert waiting.state is JobState.WAITING  # 50 + 50 > 90
    ctx.fail_next = -3
    run(scheduler, [running, waiting])
    assert running_got.error is not None and "llama_decode returned -3" in (
        running_got.error.message
    )
    assert waiting_got.error is None and waiting_got.text == "t" * 30


def test_a_scheduler_bug_resets_the_kv_and_goes_on() -> None:
    scheduler, ctx, cache = build(cache_tokens=100)
    first, first_got = job(20, tokens=30)
    scheduler.submit(first)
    scheduler.turn()
    ctx.raise_next = ValueError("a bug in the step")
    scheduler.turn()
    assert first_got.error is not None
    assert ctx.used_cells == 0 and cache.entries == 0
    after, after_got = job(20, tokens=3)
    scheduler.submit(after)
    run(scheduler, [first, after])
    assert after_got.error is None and after_got.text == "ttt"


def test_n_choices_share_the_prompt_cells() -> None:
    scheduler, ctx, _ = build(n_ctx=1000)
    multi, got = job(100, tokens=10, n=3)
    scheduler.submit(multi)
    scheduler.turn()
    assert multi.reserved == 100 + 3 * 10
    run(scheduler, [multi])
    assert got.error is None
    assert ctx.peak_cells <= 100 + 3 * 10


def test_shutdown_ends_running_waiting_and_unread_jobs() -> None:
    scheduler, _, _ = build(n_ctx=600, step_seconds=0.01)
    pairs = [job(50, tokens=200) for _ in range(4)]  # two run, two wait
    scheduler.start()
    for j, _ in pairs:
        scheduler.submit(j)
    deadline = time.monotonic() + 10
    while not (pairs[0][1].started and pairs[1][1].started) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not pairs[2][1].started and not pairs[3][1].started
    scheduler.stop()
    late, late_got = job(10)
    scheduler.submit(late)  # after stop: still answered by the backend's liveness check
    assert not scheduler.alive
    for j, got in pairs:
        assert got.ended.wait(5)
        assert got.error is not None and got.error.message == SHUTDOWN_MESSAGE
        assert j.state is JobState.ENDED
    assert not late_got.ended.is_set()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_dead_engine_thread_ends_every_job_and_says_so() -> None:
    scheduler, ctx, _ = build(n_ctx=600, step_seconds=0.01)
    pairs = [job(50, tokens=200) for _ in range(3)]
    scheduler.start()
    for j, _ in pairs:
        scheduler.submit(j)
    deadline = time.monotonic() + 10
    while not pairs[0][1].started and time.monotonic() < deadline:
        time.sleep(0.01)
    ctx.raise_next = SystemExit()  # not an Exception: nothing in the loop contains it
    for _, got in pairs:
        assert got.ended.wait(5)
        assert got.error is not None and got.error.message == STOPPED_MESSAGE
    assert not scheduler.alive
    scheduler.stop()  # joins the dying thread, so its SystemExit is reported in this test


def test_metrics_are_a_published_snapshot() -> None:
    scheduler, _, _ = build(n_ctx=200)
    pairs = [job(30, tokens=50) for _ in range(3)]
    for j, _ in pairs:
        scheduler.submit(j)
    snapshot = scheduler.metrics()
    assert snapshot.running_sequences == 0
    scheduler.turn()
    first = scheduler.metrics()
    assert first is not snapshot
    assert first.running_sequences == 2 and first.queue_depth == 1
    assert first.kv_reserved_tokens == 2 * 80
    assert first.kv_capacity_tokens == 200
    run(scheduler, [j for j, _ in pairs])
    last = scheduler.metrics()
    assert last.running_sequences == 0 and last.queue_depth == 0
    assert last.generated_tokens_total == 150
    assert last.prompt_tokens_total == 90


@pytest.mark.parametrize("cancel_while", [JobState.WAITING, JobState.RUNNING])
def test_a_cancelled_job_ends_without_an_error(cancel_while: JobState) -> None:
    scheduler, ctx, _ = build(n_ctx=90)
    first, _ = job(20, tokens=30)
    second, second_got = job(20, tokens=30)
    scheduler.submit(first)
    scheduler.submit(second)
    scheduler.turn()
    target = second if cancel_while is JobState.WAITING else first
    assert target.state is cancel_while
    scheduler.cancel(target)
    run(scheduler, [first, second])
    assert (second_got.error is None) and second_got.ended.is_set()
    assert ctx.used_cells == 0


def test_greedy_choices_take_their_token_from_one_pass_over_the_batch() -> None:
    scheduler, ctx, _ = build()
    greedy, greedy_got = job(10, tokens=6, greedy=True)
    shared, shared_got = job(12, tokens=6, n=2, greedy=True)
    sampled, sampled_got = job(14, tokens=6)
    jobs = [greedy, shared, sampled]
    for j in jobs:
        scheduler.submit(j)
    run(scheduler, jobs)
    for got in (greedy_got, shared_got, sampled_got):
        assert got.error is None
    # one pass a step, for the outputs greedy choices read and no other
    assert 0 < len(ctx.greedy_asked) <= ctx.decodes
    asked = [idx for indices in ctx.greedy_asked for idx in indices]
    assert len(asked) == 6 + 1 + 2 * 5  # an output a token each; the n=2 start shares one
    for choice in [*greedy.choices, *shared.choices]:
        picks = choice.picks  # type: ignore[attr-defined]
        assert len(picks) == 6 and all(p is not None and p >= 100 for p in picks)
    assert shared.choices[0].picks[0] == shared.choices[1].picks[0]  # type: ignore[attr-defined]
    assert sampled.choices[0].picks == [None] * 6  # type: ignore[attr-defined]


def test_a_step_hands_over_the_due_events_of_every_job_at_once() -> None:
    clock = FakeClock()
    handovers: list[int] = []

    def handover(due: list[tuple[Deliver, list[object]]]) -> None:
        handovers.append(len(due))
        deliver_each(due)

    scheduler, _, _ = build(clock=clock, handover=handover)
    pairs = [job(10, tokens=8) for _ in range(3)]
    jobs = [j for j, _ in pairs]
    for j in jobs:
        scheduler.submit(j)
    for _ in range(100):
        calls = len(handovers)
        scheduler.turn()
        assert len(handovers) - calls <= 1  # at most one hand-over a step
        clock.now += 0.05  # every job's events are due again by the next step
        if all(j.state is JobState.ENDED for j in jobs):
            break
    assert max(handovers) == 3
    for _, got in pairs:
        assert got.error is None and got.text == "t" * 8 and got.ended.is_set()
