"""What one engine step decodes: a token (or a few) for every choice that is decoding,
then as much of waiting prompts as the batch has room for. While streams are decoding, a
prompt gets at most one chunk per step, so their next token is never more than one chunk
away; a long prompt is prefilled across steps."""

from __future__ import annotations

from dataclasses import dataclass, field

from openscope.backends.llamacpp.context import BatchEntry
from openscope.backends.llamacpp.job import Job
from openscope.backends.llamacpp.step_output import Output


@dataclass(slots=True)
class StepBatch:
    entries: list[BatchEntry] = field(default_factory=list)
    outputs: list[Output] = field(default_factory=list)  # the rows of logits jobs read
    # (job, how much of its prompt is in once the batch is decoded)
    prefill: list[tuple[Job, int]] = field(default_factory=list)


def step_batch(running: list[Job], n_batch: int, prefill_chunk: int) -> StepBatch:
    """The batch of one step over the `running` jobs, in their order: the decoding
    choices' feeds first, then prompt chunks while `n_batch` has room."""
    batch = StepBatch()
    entries, outputs = batch.entries, batch.outputs
    for job in running:
        if not job.decoding:
            continue
        for c, feed in enumerate(job.feeds):
            if not feed:
                continue
            start = job.positions[c]
            seq_id = job.seq_ids[c]
            last = len(feed) - 1
            entries += [(t, start + k, seq_id, k == last) for k, t in enumerate(feed)]
            outputs.append(Output(job, c, len(entries) - 1))
    room = n_batch - len(entries)
    if entries:  # streams are waiting on this step: keep it short
        room = min(room, prefill_chunk)
    for job in running:
        if job.decoding or room <= 0:
            continue
        start = job.prefilled
        take = min(len(job.prompt) - start, room)
        end = start + take
        seq_id = job.seq_ids[0]
        entries += [(job.prompt[p], p, seq_id, p == len(job.prompt) - 1) for p in range(start, end)]
        batch.prefill.append((job, end))
        if end == len(job.prompt):
            outputs.append(Output(job, None, len(entries) - 1))
        room -= take
    return batch
