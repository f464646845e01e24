"""The llama.cpp backend: one model, one context, one engine thread.

Generation runs on a dedicated thread so the event loop never blocks; requests take turns
on it in arrival order. Events cross back to the loop through a queue; closing the event
iterator (a client that hung up) sets a flag the thread checks before every token.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import warnings
from collections.abc import AsyncGenerator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from openscope.backends.base import BackendFeatures
from openscope.backends.llamacpp.generation import Cancelled, Generation, GenerationPlan
from openscope.backends.llamacpp.grammar import grammar_for
from openscope.backends.llamacpp.model_file import embedded_model_path
from openscope.backends.llamacpp.output import OutputPlan, ToolFormat
from openscope.backends.llamacpp.template import CHATML, ChatTemplate
from openscope.backends.llamacpp.vocabulary import token_pieces
from openscope.core.errors import InternalError, OpenScopeError, Overloaded
from openscope.core.events import Event
from openscope.core.request import GenerateRequest, ToolChoiceMode, ToolSpec

log = logging.getLogger("openscope.llamacpp")

_DONE = object()
OVERLOADED_MESSAGE = "Model is unavailable, please try again later."
RETRY_AFTER_SECONDS = 1.0


class LlamaCppBackend:
    def __init__(
        self,
        model_path: Path | None = None,
        *,
        n_ctx: int = 8192,
        n_threads: int | None = None,
        n_batch: int = 512,
        max_waiting: int = 64,
        tool_format: ToolFormat = "hermes",
        reasoning: bool = False,
        reasoning_opens_in_prompt: bool = False,
    ) -> None:
        """`reasoning`: the model thinks inside <think>...</think> (Qwen3, QwQ and the like);
        `reasoning_opens_in_prompt`: its template opens the think block in the prompt."""
        self._tool_format: ToolFormat = tool_format
        self._reasoning = reasoning
        self._reasoning_in_prompt = reasoning_opens_in_prompt
        self._model_path = model_path
        self._n_ctx = n_ctx
        self._n_threads = n_threads or max(1, min(os.cpu_count() or 1, 8))
        self._n_batch = n_batch
        # Requests waiting for the engine thread, beyond the one it runs: past this many
        # the backend answers "overloaded" at once instead of letting memory grow.
        self._max_waiting = max_waiting
        self._admitted = 0
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llamacpp")
        self._llm: Any = None
        self._template: ChatTemplate | None = None
        self._pieces: tuple[bytes, ...] = ()
        self._tokenizer: Any = None

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> LlamaCppBackend:
        path = options.get("model_path")
        return cls(
            Path(path) if path else None,
            n_ctx=int(options.get("n_ctx", 8192)),
            n_threads=int(options["n_threads"]) if options.get("n_threads") else None,
            n_batch=int(options.get("n_batch", 512)),
            max_waiting=int(options.get("max_waiting", 64)),
            tool_format=options.get("tool_format", "hermes"),
            reasoning=bool(options.get("reasoning", False)),
            reasoning_opens_in_prompt=bool(options.get("reasoning_opens_in_prompt", False)),
        )

    @property
    def features(self) -> BackendFeatures:
        return BackendFeatures(
            tools=True,
            thinking=self._reasoning,
            json_object=True,
            json_schema=True,
            logprobs=True,
            multiple_choices=True,
        )

    def context_length(self, model: str) -> int | None:
        return self._n_ctx

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._load)

    def _load(self) -> None:
        from llama_cpp import Llama

        path = self._model_path or embedded_model_path()
        log.info("loading %s (n_ctx=%d, threads=%d)", path, self._n_ctx, self._n_threads)
        llm = Llama(
            model_path=str(path),
            n_ctx=self._n_ctx,
            n_threads=self._n_threads,
            n_threads_batch=self._n_threads,
            n_batch=self._n_batch,
            verbose=False,
        )
        metadata: dict[str, str] = llm.metadata
        self._template = ChatTemplate(
            metadata.get("tokenizer.chat_template", CHATML),
            bos_token=llm._model.token_get_text(llm.token_bos()),
            eos_token=llm._model.token_get_text(llm.token_eos()),
        )
        self._pieces = token_pieces(llm._model.vocab, llm.n_vocab())
        from llguidance.llamacpp import lltokenizer_from_vocab  # about a second, once

        with warnings.catch_warnings():
            # it asks llama-cpp-python for each token's attributes by a deprecated name
            warnings.simplefilter("ignore", DeprecationWarning)
            self._tokenizer = lltokenizer_from_vocab(llm._model.vocab)
        self._llm = llm

    async def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
        if self._llm is not None:
            self._llm.close()
            self._llm = None

    def _offered_tools(self, request: GenerateRequest) -> tuple[ToolSpec, ...]:
        return request.tools if request.tool_choice.mode is not ToolChoiceMode.NONE else ()

    def _thinks(self, request: GenerateRequest) -> bool:
        return self._reasoning and bool(request.thinking.enabled)

    def _prompt_tokens(self, request: GenerateRequest) -> list[int]:
        assert self._llm is not None and self._template is not None, "backend not started"
        text = self._template.render(
            request.messages,
            tools=self._offered_tools(request),
            enable_thinking=self._thinks(request) if self._reasoning else None,
        )
        if self._thinks(request) and self._reasoning_in_prompt:
            text += "<think>\n"
        add_bos = bool(self._llm._model.add_bos_token()) and not text.startswith(
            self._template.bos_token
        )
        tokens: list[int] = self._llm.tokenize(text.encode(), add_bos=add_bos, special=True)
        return tokens

    def _plan(self, request: GenerateRequest) -> GenerationPlan:
        tools = self._offered_tools(request)
        thinks = self._thinks(request)
        return GenerationPlan(
            sampling=request.sampling,
            grammar=grammar_for(request),
            output=OutputPlan(
                reasoning=self._reasoning,
                start_in_reasoning=thinks and self._reasoning_in_prompt,
                tool_format=self._tool_format if tools else None,
                tools=tools,
            ),
            parallel_tool_calls=request.parallel_tool_calls,
            thinking_budget=request.thinking.budget_tokens if thinks else None,
        )

    async def count_tokens(self, request: GenerateRequest, model: str) -> int:
        loop = asyncio.get_running_loop()
        return len(await loop.run_in_executor(self._executor, self._prompt_tokens, request))

    async def generate(self, request: GenerateRequest, model: str) -> AsyncGenerator[Event, None]:
        if self._admitted > self._max_waiting:
            raise Overloaded(OVERLOADED_MESSAGE, retry_after=RETRY_AFTER_SECONDS)
        self._admitted += 1
        events = self._generate(request)
        try:
            async for event in events:
                yield event
        finally:
            await events.aclose()  # stops the engine thread's work at once
            self._admitted -= 1

    async def _generate(self, request: GenerateRequest) -> AsyncGenerator[Event, None]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[object] = asyncio.Queue()
        cancel = threading.Event()

        def emit(item: object) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, item)

        def work() -> None:
            try:
                if cancel.is_set():
                    return
                plan = self._plan(request)
                prompt = self._prompt_tokens(request)
                generation = Generation(self._llm, self._pieces, emit, cancel, self._tokenizer)
                generation.run(prompt, plan)
            except Cancelled:
                pass
            except OpenScopeError as error:
                emit(error)
            except Exception as error:
                log.exception("generation failed")
                emit(InternalError(f"The embedded model failed: {type(error).__name__}"))
            finally:
                emit(_DONE)

        loop.run_in_executor(self._executor, work)
        try:
            while True:
                item = await queue.get()
                if item is _DONE:
                    return
                if isinstance(item, OpenScopeError):
                    raise item
                yield item  # type: ignore[misc]
        finally:
            cancel.set()
