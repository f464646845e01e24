from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import fields
from typing import Any

from openscope.backends.base import BackendFeatures
from openscope.core.events import (
    ChoiceEnd,
    Event,
    FinishReason,
    PartDelta,
    PartEnd,
    PartKind,
    PartStart,
    Usage,
    UsageReport,
)
from openscope.core.messages import Role
from openscope.core.request import GenerateRequest

# A script answers one choice of a request with the events of that choice (without usage).
Script = Callable[[GenerateRequest, int], Sequence[Event]]


def text_events(
    text_chunks: Sequence[str],
    *,
    choice: int = 0,
    finish: FinishReason = FinishReason.STOP,
) -> list[Event]:
    """The events of a choice that answers with plain text, streamed in these chunks."""
    events: list[Event] = [PartStart(choice, 0, PartKind.TEXT)]
    events += [PartDelta(choice, 0, chunk) for chunk in text_chunks]
    events += [PartEnd(choice, 0), ChoiceEnd(choice, finish)]
    return events


def echo_script(request: GenerateRequest, choice: int) -> Sequence[Event]:
    last_user = next((m for m in reversed(request.messages) if m.role is Role.USER), None)
    words = (last_user.text if last_user else "").split(" ")
    chunks = [w if i == 0 else f" {w}" for i, w in enumerate(words)]
    limit = request.sampling.max_tokens
    finish = FinishReason.STOP
    if limit is not None and len(chunks) > limit:
        chunks, finish = chunks[:limit], FinishReason.LENGTH
    return text_events(chunks, choice=choice, finish=finish)


def _word_count(request: GenerateRequest) -> int:
    return sum(len(m.text.split()) + 1 for m in request.messages)


class ScriptedBackend:
    def __init__(
        self,
        script: Script = echo_script,
        *,
        features: BackendFeatures | None = None,
        delay: float = 0.0,
    ) -> None:
        self._script = script
        self._features = features or BackendFeatures(
            **{f.name: True for f in fields(BackendFeatures)}
        )
        self._delay = delay
        # the most recent requests, for tests to inspect
        self.requests: deque[tuple[GenerateRequest, str]] = deque(maxlen=64)

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> ScriptedBackend:
        return cls(delay=float(options.get("delay", 0.0)))

    @property
    def features(self) -> BackendFeatures:
        return self._features

    def context_length(self, model: str) -> int | None:
        return None

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def count_tokens(self, request: GenerateRequest, model: str) -> int:
        return _word_count(request)

    async def generate(self, request: GenerateRequest, model: str) -> AsyncGenerator[Event, None]:
        self.requests.append((request, model))
        input_tokens = _word_count(request)
        yield UsageReport(Usage(input_tokens=input_tokens))
        output_tokens = 0
        for choice in range(request.sampling.n):
            for event in self._script(request, choice):
                if self._delay:
                    await asyncio.sleep(self._delay)
                if isinstance(event, PartDelta):
                    output_tokens += 1
                yield event
        yield UsageReport(Usage(input_tokens=input_tokens, output_tokens=output_tokens))
