from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import fields, replace
from typing import Any

from openscope.backends.base import BackendFeatures, EngineMetrics
from openscope.backends.scripted.options import ScriptedOptions
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
from openscope.core.messages import Role, ToolResultPart
from openscope.core.request import GenerateRequest, ToolChoiceMode

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


def _placeholder(schema: dict[str, Any], text: str) -> object:
    kind = schema.get("type")
    if "enum" in schema:
        return schema["enum"][0]
    if kind in ("integer", "number"):
        return 1
    if kind == "boolean":
        return True
    if kind == "array":
        return []
    if kind == "object":
        return {}
    return text


def _tool_call_events(request: GenerateRequest, choice: int, part: int, text: str) -> list[Event]:
    """Call the named tool (or the first one it may call) with arguments shaped by its
    schema."""
    choice_ = request.tool_choice
    callable_ = request.callable_tools
    tool = next((t for t in callable_ if t.name == choice_.name), (callable_ or request.tools)[0])
    properties = tool.parameters.get("properties", {})
    arguments = {name: _placeholder(schema, text) for name, schema in properties.items()}
    encoded = json.dumps(arguments)
    cut = len(encoded) // 2  # two deltas, as engines stream arguments
    return [
        PartStart(
            choice,
            part,
            PartKind.TOOL_CALL,
            tool_call_id=f"call_{choice}_{part}",
            tool_name=tool.name,
        ),
        PartDelta(choice, part, encoded[:cut]),
        PartDelta(choice, part, encoded[cut:]),
        PartEnd(choice, part),
        ChoiceEnd(choice, FinishReason.TOOL_CALLS),
    ]


def echo_script(request: GenerateRequest, choice: int) -> Sequence[Event]:
    """The default script, enough for protocol round trips without a model: think aloud when
    thinking is on, call a tool when tools are offered, report a tool's result, and
    otherwise echo the last user message."""
    last_user = next((m for m in reversed(request.messages) if m.role is Role.USER), None)
    text = last_user.text if last_user else ""
    events: list[Event] = []
    part = 0
    if request.thinking.enabled:
        events += [
            PartStart(choice, part, PartKind.REASONING),
            PartDelta(choice, part, f"The user wrote: {text}"),
            PartEnd(choice, part),
        ]
        part += 1
    last = request.messages[-1] if request.messages else None
    if last is not None and last.role is Role.TOOL:
        results = [p for p in last.parts if isinstance(p, ToolResultPart)]
        text = "The tool returned: " + " ".join(r.text for r in results)
    elif request.tools and request.tool_choice.mode is not ToolChoiceMode.NONE:
        return events + _tool_call_events(request, choice, part, text)
    words = text.split(" ")
    chunks = [w if i == 0 else f" {w}" for i, w in enumerate(words)]
    limit = request.sampling.max_tokens
    finish = FinishReason.STOP
    if limit is not None and len(chunks) > limit:
        chunks, finish = chunks[:limit], FinishReason.LENGTH
    text_events_ = text_events(chunks, choice=choice, finish=finish)
    return events + [_renumber(e, part) for e in text_events_]


def _renumber(event: Event, part: int) -> Event:
    if isinstance(event, PartStart | PartDelta | PartEnd):
        return replace(event, part=part)
    return event


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
        # Every feature but the built-in tools, which need a tool loop to run them.
        every: dict[str, Any] = {f.name: True for f in fields(BackendFeatures)}
        every["builtin_tools"] = frozenset()
        self._features = features or BackendFeatures(**every)
        self._delay = delay
        self.healthy = True  # tests turn it off to see /health fail
        # the most recent requests, for tests to inspect
        self.requests: deque[tuple[GenerateRequest, str]] = deque(maxlen=64)

    @classmethod
    def from_options(cls, options: ScriptedOptions) -> ScriptedBackend:
        return cls(delay=options.delay)

    def features(self, model: str) -> BackendFeatures:
        return self._features

    def context_length(self, model: str) -> int | None:
        return None

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def count_tokens(self, request: GenerateRequest, model: str) -> int:
        return _word_count(request)

    def metrics(self) -> EngineMetrics | None:
        return None

    async def generate(self, request: GenerateRequest, model: str) -> AsyncGenerator[Event, None]:
        self.requests.append((request, model))
        input_tokens = _word_count(request)
        yield UsageReport(Usage(input_tokens=input_tokens))
        output_tokens = reasoning_tokens = 0
        for choice in range(request.sampling.n):
            kinds: dict[int, PartKind] = {}
            for event in self._script(request, choice):
                if self._delay:
                    await asyncio.sleep(self._delay)
                if isinstance(event, PartStart):
                    kinds[event.part] = event.kind
                if isinstance(event, PartDelta):  # one "token" per delta
                    output_tokens += 1
                    reasoning_tokens += kinds.get(event.part) is PartKind.REASONING
                yield event
        yield UsageReport(
            Usage(
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                reasoning_tokens=reasoning_tokens,
            )
        )
