"""The llama.cpp backend: one model, one context, one engine thread batching every request.

Preparing a request (chat template, tokens, samplers, grammar) happens on a small pool of
prep threads, and counting tokens on a thread of its own, so neither stalls the other; the
engine thread (`scheduler.py`) only decodes and samples. A prompt that cannot fit is
refused before any of that, from its length alone (`precheck.py`). Events cross back to
the event loop a step at a time; closing the event iterator (a client that hung up)
cancels the request, which frees its sequences within one step.

The engine thread does not restart itself: it only ends when asked to, or on a failure
it could not contain to one request, after which llama.cpp's state is unknown. Then
`healthy` turns false (so `/health` answers 503 and a supervisor restarts the process)
and every request still waiting gets an error instead of hanging.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import warnings
from collections.abc import AsyncGenerator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

from openscope.backends.base import BackendFeatures, EngineMetrics
from openscope.backends.llamacpp.choice import (
    CLOSE_REASONING,
    ChoiceRun,
    GenerationPlan,
    TokenBudget,
    Vocabulary,
)
from openscope.backends.llamacpp.constraint import Constraint
from openscope.backends.llamacpp.context import LlamaBatchContext
from openscope.backends.llamacpp.grammar import grammar_for
from openscope.backends.llamacpp.handover import LoopInbox, hand_over
from openscope.backends.llamacpp.job import END, Choice, Deliver, Job
from openscope.backends.llamacpp.model_file import embedded_model_path
from openscope.backends.llamacpp.options import LlamaCppOptions
from openscope.backends.llamacpp.output import OutputPlan, choice_output
from openscope.backends.llamacpp.precheck import certainly_too_long
from openscope.backends.llamacpp.prefix_cache import (
    EXPLICIT_TTL_SECONDS,
    PrefixCache,
    common_prefix,
)
from openscope.backends.llamacpp.sampling import ResolvedSampling, build_sampler
from openscope.backends.llamacpp.scheduler import STOPPED_MESSAGE, Scheduler
from openscope.backends.llamacpp.template import CHATML, ChatTemplate
from openscope.backends.llamacpp.tool_policy import offered_tools
from openscope.backends.llamacpp.vocabulary import token_pieces
from openscope.core import ids
from openscope.core.cache import TOOLS, cache_markers, part_marker, through_marker
from openscope.core.errors import (
    UNAVAILABLE_MESSAGE,
    InternalError,
    InvalidParameter,
    OpenScopeError,
    Overloaded,
    request_timed_out,
)
from openscope.core.events import Event
from openscope.core.messages import (
    CacheControl,
    Message,
)
from openscope.core.request import GenerateRequest
from openscope.parsing.pipeline import ToolFormat

log = logging.getLogger("openscope.llamacpp")


RETRY_AFTER_SECONDS = 1.0
# Threads that render and tokenize prompts for generation; counting tokens has its own.
PREP_WORKERS = 2
# A consumer whose engine has gone quiet checks this often that the engine thread lives,
# and gives up this long after the request's own deadline.
LIVENESS_POLL_SECONDS = 1.0
DEADLINE_GRACE_SECONDS = 5.0


class LlamaCppBackend:
    def __init__(
        self,
        model_path: Path | None = None,
        *,
        parallel: int = 8,
        ctx_per_seq: int = 4096,
        kv_tokens: int = 32768,
        cache_tokens: int = 4096,
        n_threads: int | None = None,
        n_batch: int = 512,
        prefill_chunk: int = 256,
        max_waiting: int = 64,
        request_timeout: float | None = 600.0,
        explicit_cache_ttl: float = EXPLICIT_TTL_SECONDS,
        tool_format: ToolFormat = "hermes",
        reasoning: bool = False,
        reasoning_opens_in_prompt: bool = False,
    ) -> None:
        """`parallel`: sequences decoded together; `ctx_per_seq`: the context window of
        each request (prompt and answer); `kv_tokens`: KV cells shared by all sequences and
        the prefix cache; `cache_tokens`: how many of them cached prefixes may hold;
        `prefill_chunk`: prompt tokens per step while others decode; `max_waiting`:
        requests waiting for a free sequence before the backend answers "overloaded";
        `request_timeout`: seconds a request may wait for a sequence, and then as many
        seconds to run once admitted (queueing never cuts a started stream short).
        `reasoning`: the model thinks inside <think>...</think> (Qwen3, QwQ and the like);
        `reasoning_opens_in_prompt`: its template opens the think block in the prompt."""
        if parallel < 1 or ctx_per_seq < 16 or n_batch < 8 * parallel:
            raise ValueError(
                "llamacpp needs parallel >= 1, ctx_per_seq >= 16, n_batch >= 8 * parallel"
            )
        if not ctx_per_seq <= kv_tokens or cache_tokens > kv_tokens:
            raise ValueError("llamacpp needs ctx_per_seq and cache_tokens <= kv_tokens")
        self._tool_format: ToolFormat = tool_format
        self._reasoning = reasoning
        self._reasoning_in_prompt = reasoning_opens_in_prompt
        self._model_path = model_path
        self._parallel = parallel
        self._ctx_per_seq = ctx_per_seq
        self._cache_tokens = cache_tokens
        self._kv_tokens = kv_tokens
        self._n_threads = n_threads or max(1, min(os.cpu_count() or 1, 8))
        self._n_batch = n_batch
        self._prefill_chunk = prefill_chunk
        self._max_waiting = max_waiting
        self._request_timeout = request_timeout
        self._explicit_ttl = explicit_cache_ttl
        self._in_flight = 0  # requests admitted and not yet finished
        self._rejected = 0
        # Templates, tokenizing and grammar compilation run here, off the engine thread.
        self._prep = ThreadPoolExecutor(PREP_WORKERS, thread_name_prefix="llamacpp-prep")
        self._counting = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llamacpp-count")
        self._max_piece_bytes = 1  # the longest token's bytes, known once the model is loaded
        self._n_close_reasoning = 0  # tokens the thinking budget writes to close a think block
        self._model: Any = None
        self._context: LlamaBatchContext | None = None
        self._scheduler: Scheduler | None = None
        self._template: ChatTemplate | None = None
        self._vocabulary: Vocabulary | None = None
        self._tokenizer: Any = None

    @classmethod
    def from_options(cls, options: LlamaCppOptions) -> LlamaCppBackend:
        return cls(
            options.model_path,
            parallel=options.parallel,
            ctx_per_seq=options.ctx_per_seq,
            kv_tokens=options.kv_tokens,
            cache_tokens=options.cache_tokens,
            n_threads=options.n_threads,
            n_batch=options.n_batch,
            prefill_chunk=options.prefill_chunk,
            max_waiting=options.max_waiting,
            request_timeout=options.request_timeout or None,
            explicit_cache_ttl=options.explicit_cache_ttl,
            tool_format=options.tool_format,
            reasoning=options.reasoning,
            reasoning_opens_in_prompt=options.reasoning_opens_in_prompt,
        )

    def features(self, model: str) -> BackendFeatures:
        # One model per embedded engine: what it can do is the engine's.
        return BackendFeatures(
            tools=True,
            thinking=self._reasoning,
            json_object=True,
            json_schema=True,
            logprobs=True,
            multiple_choices=True,
            explicit_cache=True,
        )

    def context_length(self, model: str) -> int | None:
        return self._ctx_per_seq

    async def start(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._prep, self._load)
        assert self._scheduler is not None
        self._scheduler.start()

    def _load(self) -> None:
        from llama_cpp import _logger
        from llama_cpp import llama_cpp as lib
        from llama_cpp._internals import LlamaModel

        _logger.set_verbose(False)  # llama.cpp's debug lines, through Python, cost a lot
        lib.llama_backend_init()
        path = self._model_path or embedded_model_path()
        log.info(
            "loading %s (parallel=%d, ctx_per_seq=%d, threads=%d)",
            path,
            self._parallel,
            self._ctx_per_seq,
            self._n_threads,
        )
        model = LlamaModel(
            path_model=str(path), params=lib.llama_model_default_params(), verbose=False
        )
        metadata: dict[str, str] = model.metadata()
        self._template = ChatTemplate(
            metadata.get("tokenizer.chat_template", CHATML),
            bos_token=model.token_get_text(model.token_bos()),
            eos_token=model.token_get_text(model.token_eos()),
        )
        vocab = model.vocab
        self._vocabulary = Vocabulary(
            pieces=token_pieces(vocab, model.n_vocab()),
            is_end=lambda token: bool(lib.llama_vocab_is_eog(vocab, token)),
            tokenize=lambda text: list(model.tokenize(text.encode(), False, True)),
        )
        self._max_piece_bytes = max(1, *(len(p) for p in self._vocabulary.pieces))
        self._n_close_reasoning = len(self._vocabulary.tokenize(CLOSE_REASONING))
        from llguidance.llamacpp import lltokenizer_from_vocab  # about a second, once

        with warnings.catch_warnings():
            # it asks llama-cpp-python for each token's attributes by a deprecated name
            warnings.simplefilter("ignore", DeprecationWarning)
            self._tokenizer = lltokenizer_from_vocab(vocab)
        self._model = model
        # Sequence ids: the first `parallel` run requests, the rest hold cached prefixes.
        cache_entries = max(8, min(200, self._cache_tokens // 256))
        self._context = LlamaBatchContext(
            model,
            n_ctx=self._kv_tokens,
            n_batch=self._n_batch,
            n_seq_max=self._parallel + cache_entries,
            n_threads=self._n_threads,
        )
        cache = PrefixCache(
            range(self._parallel, self._parallel + cache_entries),
            self._cache_tokens,
            explicit_ttl=self._explicit_ttl,
        )
        self._scheduler = Scheduler(
            self._context,
            cache,
            slots=range(self._parallel),
            prefill_chunk=self._prefill_chunk,
            handover=hand_over,
        )

    async def close(self) -> None:
        if self._scheduler is not None:
            await asyncio.to_thread(self._scheduler.stop)
            self._scheduler = None
        self._prep.shutdown(wait=True, cancel_futures=True)
        self._counting.shutdown(wait=True, cancel_futures=True)
        if self._context is not None:
            self._context.close()
            self._context = None
        if self._model is not None:
            self._model.close()
            self._model = None

    @property
    def healthy(self) -> bool:
        """The engine thread is alive (always false before start and after close)."""
        return self._scheduler is not None and self._scheduler.alive

    def metrics(self) -> EngineMetrics | None:
        if self._scheduler is None:
            return None
        return replace(self._scheduler.metrics(), rejected_total=self._rejected)

    # --- preparing a request (on the prep thread) -----------------------------------

    def _thinks(self, request: GenerateRequest) -> bool:
        # A partial answer is already under way: there is no room left to think before it.
        return self._reasoning and bool(request.thinking.enabled) and not request.partial

    def _render(
        self, request: GenerateRequest, messages: tuple[Message, ...], *, complete: bool
    ) -> list[int]:
        """`complete`: the whole prompt, ending where the answer starts (in partial mode,
        inside the last assistant message); otherwise the conversation `messages` alone, to
        find where a cached prefix ends."""
        assert self._model is not None and self._template is not None, "backend not started"
        continues = complete and request.partial
        text = self._template.render(
            messages,
            tools=offered_tools(request),
            enable_thinking=self._thinks(request) if self._reasoning else None,
            add_generation_prompt=complete and not continues,
            continue_final=continues,
        )
        if complete and self._thinks(request) and self._reasoning_in_prompt:
            text += "<think>\n"
        add_bos = bool(self._model.add_bos_token()) and not text.startswith(
            self._template.bos_token
        )
        return list(self._model.tokenize(text.encode(), add_bos, True))

    def _prompt_tokens(self, request: GenerateRequest) -> list[int]:
        return self._render(request, request.messages, complete=True)

    def _cache_marks(self, request: GenerateRequest, prompt: list[int]) -> tuple[int, ...]:
        """Token counts of the prompt prefixes ending at each explicit marker (or, for the
        session cache, at the end of the conversation so far)."""
        if request.session_cache:
            ends = [request.messages]
        else:
            ends = [
                through_marker(request.messages, m)
                for m in cache_markers(request.messages, offered_tools(request))
            ]
        marks = [common_prefix(self._render(request, e, complete=False), prompt) for e in ends]
        return tuple(sorted(set(marks)))

    def _plan(self, request: GenerateRequest) -> GenerationPlan:
        tools = offered_tools(request)
        thinks = self._thinks(request)
        return GenerationPlan(
            sampling=request.sampling,
            grammar=grammar_for(request, self._tool_format),
            output=OutputPlan(
                reasoning=self._reasoning,
                start_in_reasoning=thinks and self._reasoning_in_prompt,
                tool_format=self._tool_format if tools else None,
                tools=tools,
            ),
            parallel_tool_calls=request.parallel_tool_calls,
            thinking_budget=request.thinking.budget_tokens if thinks else None,
        )

    def _input_range_error(self) -> InvalidParameter:
        return InvalidParameter(
            f"Range of input length should be [1, {self._ctx_per_seq - 1}]", param="messages"
        )

    def _precheck(self, request: GenerateRequest) -> None:
        """Refuse, on the event loop and before any rendering, what cannot be served."""
        if certainly_too_long(
            request, limit=self._ctx_per_seq, max_piece_bytes=self._max_piece_bytes
        ):
            raise self._input_range_error()
        n_vocab = len(self._vocabulary.pieces) if self._vocabulary is not None else 0
        for token_ids in request.sampling.stop_token_ids:
            for token in token_ids:
                if not 0 <= token < n_vocab:
                    raise InvalidParameter(
                        f"The stop token id {token} is out of range: token ids of this model "
                        f"are in [0, {n_vocab - 1}].",
                        param="stop",
                    )
        if request.sampling.n > self._parallel:
            raise InvalidParameter(f"n must not exceed {self._parallel} on this server.", param="n")

    def _token_budget(self, request: GenerateRequest, prompt_tokens: int) -> TokenBudget:
        """Tokens each choice may sample. max_tokens caps the answer alone (Model Studio: it
        does not limit the thinking) and thinking_budget the thinking; together they are
        capped by the context and, with n > 1, by the KV cells all choices share (their
        prompt is stored once)."""
        sampling = request.sampling
        thinks = self._thinks(request)
        thinking_budget = request.thinking.budget_tokens if thinks else None
        closing = self._n_close_reasoning if thinking_budget is not None else 0
        # What the request asks room for; None: as much as there is (thinking unbounded).
        asked = sampling.max_tokens
        if asked is not None and thinks:
            asked = None if thinking_budget is None else thinking_budget + asked
        total = self._ctx_per_seq - prompt_tokens - closing
        if asked is not None:
            total = min(total, asked)
        room = (self._kv_tokens - prompt_tokens) // sampling.n - closing
        if total > room:
            if asked is not None:
                asks = "max_tokens plus thinking_budget" if thinks else "max_tokens"
                raise InvalidParameter(
                    f"n times {asks} plus the input must fit in {self._kv_tokens} tokens "
                    "on this server: lower max_tokens or n.",
                    param="max_tokens",
                )
            total = room
        return TokenBudget(total, answer=sampling.max_tokens)

    def _prepare(self, request: GenerateRequest, deliver: Deliver) -> Job:
        assert self._vocabulary is not None
        prompt = self._prompt_tokens(request)
        if not 1 <= len(prompt) < self._ctx_per_seq:
            raise self._input_range_error()
        plan = self._plan(request)
        sampling = plan.sampling
        pieces = self._vocabulary.pieces
        stops = list(sampling.stop) + [
            b"".join(pieces[i] for i in token_ids).decode("utf-8", "replace")
            for token_ids in sampling.stop_token_ids
        ]
        budget = self._token_budget(request, len(prompt))
        closing = self._n_close_reasoning if plan.thinking_budget is not None else 0
        n_vocab = len(pieces)
        choices: list[Choice] = [
            ChoiceRun(
                index,
                plan,
                choice_output(index, plan.output, ids.tool_call_id),
                sampler=build_sampler(ResolvedSampling.of(sampling, index), n_vocab),
                constraint=Constraint(self._tokenizer, plan.grammar) if plan.grammar else None,
                vocabulary=self._vocabulary,
                stops=stops,
                budget=budget,
            )
            for index in range(sampling.n)
        ]
        explicit = request.session_cache or bool(
            cache_markers(request.messages, offered_tools(request))
        )
        return Job(
            prompt,
            choices,
            deliver,
            max_new=budget.total + closing,
            explicit=explicit,
            session=request.session_cache,
            marks=self._cache_marks(request, prompt) if explicit else (),
            cache_ttl=_marker_ttl(request),
            deadline=(time.monotonic() + self._request_timeout if self._request_timeout else None),
            run_timeout=self._request_timeout,
        )

    # --- serving ---------------------------------------------------------------------

    async def count_tokens(self, request: GenerateRequest, model: str) -> int:
        if certainly_too_long(
            request, limit=self._ctx_per_seq, max_piece_bytes=self._max_piece_bytes
        ):
            raise self._input_range_error()
        loop = asyncio.get_running_loop()
        return len(await loop.run_in_executor(self._counting, self._prompt_tokens, request))

    async def generate(self, request: GenerateRequest, model: str) -> AsyncGenerator[Event, None]:
        if not self.healthy:
            raise InternalError(STOPPED_MESSAGE)
        self._precheck(request)
        if self._in_flight >= self._parallel + self._max_waiting:
            self._rejected += 1
            raise Overloaded(UNAVAILABLE_MESSAGE, retry_after=RETRY_AFTER_SECONDS)
        self._in_flight += 1
        try:
            async for event in self._generate(request):
                yield event
        finally:
            self._in_flight -= 1

    async def _generate(self, request: GenerateRequest) -> AsyncGenerator[Event, None]:
        scheduler = self._scheduler
        assert scheduler is not None, "backend not started"
        loop = asyncio.get_running_loop()
        inbox: asyncio.Queue[list[object]] = asyncio.Queue()
        deliver = LoopInbox(loop, inbox)
        job = await loop.run_in_executor(self._prep, self._prepare, request, deliver)
        scheduler.submit(job)
        try:
            while True:
                for item in await self._next_items(inbox, scheduler, job):
                    if item is END:
                        return
                    if isinstance(item, OpenScopeError):
                        raise item
                    yield item  # type: ignore[misc]
        finally:
            scheduler.cancel(job)  # a no-op once it has ended

    async def _next_items(
        self, inbox: asyncio.Queue[list[object]], scheduler: Scheduler, job: Job
    ) -> list[object]:
        """The engine's next hand-over, or an error when it can no longer come: the engine
        thread died, or the request's deadline passed long ago without one."""
        while True:
            if not inbox.empty():
                return inbox.get_nowait()
            try:
                # a timeout scope rather than wait_for: no task per hand-over
                async with asyncio.timeout(LIVENESS_POLL_SECONDS):
                    return await inbox.get()
            except TimeoutError:
                if not scheduler.alive:
                    raise InternalError(STOPPED_MESSAGE) from None
                late = job.deadline is not None and (
                    time.monotonic() > job.deadline + DEADLINE_GRACE_SECONDS
                )
                if late:
                    raise request_timed_out() from None


def _marker_ttl(request: GenerateRequest) -> float | None:
    """The longest life, in seconds, that a counted cache marker asks for (None: none asks
    for its own). The cache keeps one entry, at the last marker, which holds the prefixes of
    all the others: it lives as long as the longest asks."""
    tools = offered_tools(request)
    controls = [
        tools[p].cache_control if m == TOOLS else _control(request.messages[m], p)
        for m, p in cache_markers(request.messages, tools)
    ]
    asked = [c.ttl_seconds for c in controls if c is not None and c.ttl_seconds is not None]
    return float(max(asked)) if asked else None


def _control(message: Message, index: int) -> CacheControl | None:
    return part_marker(message.parts[index])
