"""One decode step's output, job by job: every row of logits the batch produced for a
job is sampled by the choices that read it, and what they make (events, and the tokens
each feeds next) goes on the job. The choices themselves turn sampled tokens into text,
stop matching and parsed events (`choice.ChoiceRun`); the scheduler ends the jobs this
leaves finished, or that fail here."""

from __future__ import annotations

from typing import NamedTuple

from openscope.backends.llamacpp.context import BatchContext
from openscope.backends.llamacpp.job import Job
from openscope.core.events import Event


class Output(NamedTuple):
    """A row of the batch's logits that a job reads."""

    job: Job
    choice: int | None  # the choice it samples; None: the prompt is in, so all of them
    idx: int  # its index in the batch


def output_greedy_picks(ctx: BatchContext, outputs: list[Output]) -> dict[int, int | None]:
    """The greedy pick of every output some greedy choice reads, in one pass over the
    batch's logits, before any choice's grammar mask edits them."""
    wanted = [
        idx
        for job, choice, idx in outputs
        if any(c.greedy for c in (job.choices if choice is None else [job.choices[choice]]))
    ]
    return dict(zip(wanted, ctx.greedy(wanted), strict=True)) if wanted else {}


def advance(ctx: BatchContext, output: Output, picked: int | None) -> int:
    """Sample the output's choice (or all of them once the prompt is in); `picked` is
    the greedy pick of the output, if a greedy choice reads it. Returns how many tokens
    were sampled."""
    job, choice, idx = output
    if choice is None:
        return _begin(ctx, job, idx, picked)
    feed = job.feeds[choice]
    job.positions[choice] += len(feed)
    if choice == 0:
        job.tail += feed
    events, job.feeds[choice] = job.choices[choice].advance(
        ctx.context, idx, ctx.logits(idx), picked
    )
    job.outbox += events
    return 1


def _begin(ctx: BatchContext, job: Job, idx: int, picked: int | None) -> int:
    """The prompt is in: share its KV with the other choices and sample their first
    tokens from the same logits (restored before each choice, so the greedy pick of
    them holds for every greedy one)."""
    for seq_id in job.seq_ids[1:]:
        ctx.copy(job.seq_ids[0], seq_id)
    logits = ctx.logits(idx)
    pristine = logits.copy() if len(job.choices) > 1 else None
    events: list[Event] = []
    sampled = 0
    for c, run in enumerate(job.choices):
        events += run.start()
        if run.finished:
            continue
        if pristine is not None:
            logits[:] = pristine  # a grammar mask edits the logits in place
        produced, job.feeds[c] = run.advance(ctx.context, idx, logits, picked)
        events += produced
        sampled += 1
    job.outbox += events
    return sampled
