"""One request's generation on a llama.cpp context, run on the engine thread.

It turns sampled tokens into core events: text decoded incrementally as UTF-8, stop
strings held back until they are ruled out, logprobs attached to the text they belong to.
"""

from __future__ import annotations

import codecs
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from openscope.backends.llamacpp.constraint import Constraint
from openscope.backends.llamacpp.output import (
    OutputPlan,
    ParsedOutput,
    PlainOutput,
    choice_output,
)
from openscope.backends.llamacpp.sampling import (
    ResolvedSampling,
    build_sampler,
    log_softmax,
    top_indices,
)
from openscope.core import ids
from openscope.core.errors import InvalidParameter
from openscope.core.events import (
    ChoiceEnd,
    Event,
    FinishReason,
    TokenLogprob,
    TopLogprob,
    Usage,
    UsageReport,
)
from openscope.core.request import SamplingParams
from openscope.parsing.stop_strings import StopMatcher

Emit = Callable[[Event], None]


@dataclass(slots=True)
class _Choice:
    choice: int
    plan: GenerationPlan
    output: PlainOutput | ParsedOutput
    generated: int = 0  # tokens sampled for this choice
    reasoning: int = 0  # of which inside the think block


class Cancelled(Exception):
    """The consumer went away; stop generating."""


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


@dataclass(frozen=True, slots=True)
class GenerationPlan:
    """Everything about a request the engine thread needs besides the prompt."""

    sampling: SamplingParams
    grammar: str | None = None
    output: OutputPlan = field(default_factory=OutputPlan)
    parallel_tool_calls: bool = True
    thinking_budget: int | None = None  # tokens of reasoning before the think block is closed
    close_reasoning: str = "\n</think>\n\n"


class Generation:
    def __init__(
        self,
        llm: Any,
        pieces: tuple[bytes, ...],
        emit: Emit,
        cancel: threading.Event,
        tokenizer: Any = None,
    ) -> None:
        """`tokenizer`: llguidance's view of the vocabulary, needed for grammars."""
        self._tokenizer = tokenizer
        self._llm = llm
        self._pieces = pieces
        self._emit = emit
        self._cancel = cancel
        self._vocab = llm._model.vocab
        self._n_vocab: int = llm.n_vocab()

    def run(self, prompt: list[int], plan: GenerationPlan) -> None:
        from llama_cpp import llama_cpp as lib

        sampling = plan.sampling
        n_ctx: int = self._llm.n_ctx()
        if not 1 <= len(prompt) < n_ctx:
            raise InvalidParameter(
                f"Range of input length should be [1, {n_ctx - 1}]", param="messages"
            )
        stops = list(sampling.stop) + [
            b"".join(self._pieces[i] for i in ids).decode("utf-8", "replace")
            for ids in sampling.stop_token_ids
        ]
        samplers = [
            build_sampler(ResolvedSampling.of(sampling, choice), self._n_vocab)
            for choice in range(sampling.n)
        ]
        self._emit(UsageReport(Usage(input_tokens=len(prompt))))
        total = Usage(input_tokens=len(prompt))
        for choice, sampler in enumerate(samplers):
            self._check_cancel()
            self._prefill(prompt)
            budget = n_ctx - len(prompt)
            if sampling.max_tokens is not None:
                budget = min(budget, sampling.max_tokens)
            spent = _Choice(choice, plan, choice_output(choice, plan.output, ids.tool_call_id))
            self._run_choice(spent, sampler, stops, budget, lib)
            total = replace(
                total,
                output_tokens=total.output_tokens + spent.generated,
                reasoning_tokens=total.reasoning_tokens + spent.reasoning,
            )
        self._emit(UsageReport(total))

    def _check_cancel(self) -> None:
        if self._cancel.is_set():
            raise Cancelled

    def _prefill(self, prompt: list[int]) -> None:
        """Evaluate the prompt, reusing KV already computed for the same tokens.

        Reuse stops at a multiple of the batch size and the rest is evaluated in the same
        batches a cold start would use: logits then come out bit for bit the same whether
        or not the prefix was cached, so a seed always gives the same text. At least the
        last prompt token is evaluated, so its logits are fresh."""
        llm = self._llm
        common = 0
        for cached, token in zip(llm._input_ids[: llm.n_tokens], prompt, strict=False):
            if cached != token:
                break
            common += 1
        reusable = min(common, len(prompt) - 1)
        llm.n_tokens = reusable - reusable % llm.n_batch
        llm.eval(prompt[llm.n_tokens :])

    def _run_choice(
        self, state: _Choice, sampler: Any, stops: list[str], budget: int, lib: Any
    ) -> None:
        llm = self._llm
        sampling = state.plan.sampling
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        matcher = StopMatcher(stops)
        logprobs = _LogprobQueue()
        decoded_chars = 0  # characters decoded so far in this choice
        emitted_chars = 0  # characters handed to the output so far
        output = state.output
        constraint = Constraint(self._tokenizer, state.plan.grammar) if state.plan.grammar else None
        self._emit_all(output.start())
        finish, stop_hit = FinishReason.LENGTH, None
        while state.generated < budget:
            self._check_cancel()
            entry_logits = None
            raw = np.ctypeslib.as_array(llm._ctx.get_logits_ith(-1), shape=(self._n_vocab,))
            if sampling.logprobs:
                entry_logits = log_softmax(raw.astype(np.float32))  # the model's own
            if constraint is not None:
                constraint.restrict(raw)
            token = int(sampler.sample(llm._ctx, -1))
            if lib.llama_vocab_is_eog(self._vocab, token):
                finish = FinishReason.STOP
                break
            state.generated += 1
            state.reasoning += output.in_reasoning
            piece = self._pieces[token]
            text = decoder.decode(piece)
            decoded_chars += len(text)
            if entry_logits is not None:
                logprobs.add(
                    self._logprob_entry(token, piece, entry_logits, sampling.top_logprobs),
                    decoded_chars,
                )
            scan = matcher.feed(text)
            emitted_chars += len(scan.emit)
            if scan.emit:
                self._emit_all(output.text(scan.emit, logprobs.release(emitted_chars)))
            if scan.stop is not None:
                finish, stop_hit = FinishReason.STOP, scan.stop
                break
            if output.tool_calls and not state.plan.parallel_tool_calls:
                finish = FinishReason.STOP  # one call was asked for, and it is complete
                break
            if constraint is not None:
                constraint.accept(token)
                if constraint.complete:
                    finish = FinishReason.STOP
                    break
            if state.generated < budget:
                llm.eval([token])
                self._close_reasoning_when_spent(state)
        if stop_hit is None:
            # Bytes of a character the budget cut in half stay undecoded: no U+FFFD tail.
            rest = matcher.flush()
            emitted_chars += len(rest)
            released = logprobs.release(emitted_chars) if rest else ()
            self._emit_all(output.text(rest, released))
        self._emit_all(output.finish())
        if finish is FinishReason.STOP and output.tool_calls:
            finish = FinishReason.TOOL_CALLS
        self._emit(ChoiceEnd(state.choice, finish, stop_sequence=stop_hit))

    def _close_reasoning_when_spent(self, state: _Choice) -> None:
        """Enforce the thinking budget: once spent, write the end of the think block into
        the context, so the model goes on with its answer."""
        budget = state.plan.thinking_budget
        if budget is None or not state.output.in_reasoning or state.reasoning < budget:
            return
        closing = state.plan.close_reasoning
        tokens = self._llm.tokenize(closing.encode(), add_bos=False, special=True)
        self._llm.eval(tokens)
        self._emit_all(state.output.text(closing, ()))

    def _emit_all(self, events: list[Event]) -> None:
        for event in events:
            self._emit(event)

    def _logprob_entry(self, token: int, piece: bytes, logprobs: Any, top_n: int) -> TokenLogprob:
        top = tuple(
            TopLogprob(
                token=self._pieces[i].decode("utf-8", "replace"),
                logprob=float(logprobs[i]),
                bytes=tuple(self._pieces[i]),
            )
            for i in top_indices(logprobs, top_n)
        )
        return TokenLogprob(
            token=piece.decode("utf-8", "replace"),
            logprob=float(logprobs[token]),
            bytes=tuple(piece),
            top=top,
        )
