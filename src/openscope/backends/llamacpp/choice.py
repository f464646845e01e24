"""One choice of a request, advanced one sampled token per engine step.

It turns sampled tokens into core events: text decoded incrementally as UTF-8, stop strings
held back until they are ruled out, logprobs attached to the answer text they belong to, the
grammar's mask applied before sampling, the thinking budget enforced by writing the end of
the think block into the sequence, and max_tokens counted on the answer alone.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from openscope.backends.llamacpp.constraint import Constraint
from openscope.backends.llamacpp.output import OutputPlan, ParsedOutput, PlainOutput
from openscope.backends.llamacpp.sampling import Sampler, log_softmax, top_indices
from openscope.core.events import ChoiceEnd, Event, FinishReason, TokenLogprob, TopLogprob
from openscope.core.request import SamplingParams
from openscope.parsing.stop_strings import StopMatcher

# What the thinking budget writes into the sequence to end a think block.
CLOSE_REASONING = "\n</think>\n\n"


@dataclass(frozen=True, slots=True)
class GenerationPlan:
    """Everything about a request the engine needs besides the prompt."""

    sampling: SamplingParams
    grammar: str | None = None
    output: OutputPlan = field(default_factory=OutputPlan)
    parallel_tool_calls: bool = True
    thinking_budget: int | None = None  # tokens of reasoning before the think block is closed
    close_reasoning: str = CLOSE_REASONING


@dataclass(frozen=True, slots=True)
class TokenBudget:
    """How many tokens one choice may sample: `total`, thinking and answer together (what the
    context and the KV cells hold), and `answer` of them after the think block (max_tokens,
    which does not limit the thinking; None: no cap of its own)."""

    total: int
    answer: int | None = None


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """What a choice needs to know about the model's tokens."""

    pieces: tuple[bytes, ...]  # each token's exact bytes
    is_end: Callable[[int], bool]  # end of generation (EOS, EOT, ...)
    tokenize: Callable[[str], list[int]]  # text with special tokens, no BOS


@dataclass(slots=True)
class _LogprobQueue:
    """Token logprobs waiting for their text to be emitted (text can be held back)."""

    pending: list[tuple[TokenLogprob, int]] = field(default_factory=list)

    def add(self, entry: TokenLogprob, text_end: int) -> None:
        self.pending.append((entry, text_end))

    def release(self, emitted_until: int) -> tuple[TokenLogprob, ...]:
        ready = [e for e, end in self.pending if end <= emitted_until]
        self.pending = [(e, end) for e, end in self.pending if end > emitted_until]
        return tuple(ready)


class ChoiceRun:
    def __init__(
        self,
        index: int,
        plan: GenerationPlan,
        output: PlainOutput | ParsedOutput,
        *,
        sampler: Sampler,
        constraint: Constraint | None,
        vocabulary: Vocabulary,
        stops: list[str],
        budget: TokenBudget,
    ) -> None:
        self.index = index
        self.plan = plan
        self.output = output
        self.generated = 0  # tokens sampled
        self.reasoning = 0  # of which inside the think block
        self.finished = False
        self._sampler = sampler
        self._constraint = constraint
        # Its next token is the first highest of the logits as decoded (no grammar mask
        # edits them first), so the engine may pick it along with the rest of the batch.
        self.greedy = sampler.greedy and constraint is None
        self._vocabulary = vocabulary
        self._budget = budget
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._matcher = StopMatcher(stops)
        self._logprobs = _LogprobQueue()
        self._decoded_chars = 0
        self._emitted_chars = 0

    def start(self) -> list[Event]:
        if self._budget.total <= 0 or self._budget.answer == 0:
            return [*self.output.start(), *self._finish(FinishReason.LENGTH, None)]
        return self.output.start()

    def advance(
        self, ctx: Any, idx: int, logits: Any, picked: int | None = None
    ) -> tuple[list[Event], list[int]]:
        """Sample the next token from the logits at batch output `idx` (`logits` is a
        writable view of them), or take `picked`, the batch's greedy pick for them, when
        this choice is `greedy`. Returns the events it produced and the tokens to feed
        into the sequence next; none once the choice is finished."""
        sampling = self.plan.sampling
        entry_logits = log_softmax(logits.astype(np.float32)) if sampling.logprobs else None
        if self._constraint is not None:
            self._constraint.restrict(logits)
        if picked is not None and self.greedy:
            token = picked
        else:
            token = self._sampler.sample(ctx, idx, logits)
        if self._vocabulary.is_end(token):
            return self._finish(FinishReason.STOP, None), []
        thinking = self.output.in_reasoning
        self.generated += 1
        self.reasoning += thinking
        piece = self._vocabulary.pieces[token]
        text = self._decoder.decode(piece)
        self._decoded_chars += len(text)
        if entry_logits is not None and not thinking:
            # Only answer tokens carry logprobs (Model Studio: reasoning_content has none).
            self._logprobs.add(
                self._logprob_entry(token, piece, entry_logits, sampling.top_logprobs),
                self._decoded_chars,
            )
        events: list[Event] = []
        scan = self._matcher.feed(text)
        self._emitted_chars += len(scan.emit)
        if scan.emit:
            events += self.output.text(scan.emit, self._logprobs.release(self._emitted_chars))
        if scan.stop is not None:
            return events + self._finish(FinishReason.STOP, scan.stop), []
        if self.output.tool_calls and not self.plan.parallel_tool_calls:
            # one call was asked for, and it is complete
            return events + self._finish(FinishReason.STOP, None), []
        if self._constraint is not None:
            self._constraint.accept(token)
            if self._constraint.complete:
                return events + self._finish(FinishReason.STOP, None), []
        if self.generated >= self._budget.total or self._answer_spent():
            return events + self._finish(FinishReason.LENGTH, None), []
        feed = [token]
        if self._reasoning_spent():
            # Enforce the thinking budget: write the end of the think block into the
            # sequence, so the model goes on with its answer.
            closing = self.plan.close_reasoning
            feed += self._vocabulary.tokenize(closing)
            events += self.output.text(closing, ())
        return events, feed

    def _answer_spent(self) -> bool:
        cap = self._budget.answer
        return cap is not None and self.generated - self.reasoning >= cap

    def _reasoning_spent(self) -> bool:
        budget = self.plan.thinking_budget
        return budget is not None and self.output.in_reasoning and self.reasoning >= budget

    def _finish(self, finish: FinishReason, stop_hit: str | None) -> list[Event]:
        self.finished = True
        events: list[Event] = []
        if stop_hit is None:
            # Bytes of a character the budget cut in half stay undecoded: no U+FFFD tail.
            rest = self._matcher.flush()
            self._emitted_chars += len(rest)
            released = self._logprobs.release(self._emitted_chars) if rest else ()
            events += self.output.text(rest, released)
        events += self.output.finish()
        if finish is FinishReason.STOP and self.output.tool_calls:
            finish = FinishReason.TOOL_CALLS
        events.append(ChoiceEnd(self.index, finish, stop_sequence=stop_hit))
        return events

    def _logprob_entry(self, token: int, piece: bytes, logprobs: Any, top_n: int) -> TokenLogprob:
        pieces = self._vocabulary.pieces
        top = tuple(
            TopLogprob(
                token=pieces[i].decode("utf-8", "replace"),
                logprob=float(logprobs[i]),
                bytes=tuple(pieces[i]),
            )
            for i in top_indices(logprobs, top_n)
        )
        return TokenLogprob(
            token=piece.decode("utf-8", "replace"),
            logprob=float(logprobs[token]),
            bytes=tuple(piece),
            top=top,
        )
