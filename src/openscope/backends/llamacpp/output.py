"""How one choice's generated text becomes events: plain text, or text run through the
output parsers (reasoning, tool calls) when the request needs them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from openscope.core.events import Event, PartDelta, PartEnd, PartKind, PartStart, TokenLogprob
from openscope.core.request import ToolSpec
from openscope.parsing.assembler import PartAssembler
from openscope.parsing.pipeline import OutputParser, ToolFormat


@dataclass(frozen=True, slots=True)
class OutputPlan:
    """What to look for in the model's text."""

    reasoning: bool = False
    start_in_reasoning: bool = False
    tool_format: ToolFormat | None = None
    tools: tuple[ToolSpec, ...] = ()

    @property
    def parses(self) -> bool:
        return self.reasoning or self.tool_format is not None


class PlainOutput:
    """Everything the model writes is the answer's one text part."""

    tool_calls = 0
    in_reasoning = False

    def __init__(self, choice: int) -> None:
        self._choice = choice

    def start(self) -> list[Event]:
        return [PartStart(self._choice, 0, PartKind.TEXT)]

    def text(self, text: str, logprobs: tuple[TokenLogprob, ...]) -> list[Event]:
        if not text and not logprobs:
            return []
        return [PartDelta(self._choice, 0, text, logprobs)]

    def finish(self) -> list[Event]:
        return [PartEnd(self._choice, 0)]


class ParsedOutput:
    """The text runs through the output parsers; reasoning and tool calls become parts of
    their own. Logprobs ride on the first delta outside reasoning that the same text
    produced (they belong to answer tokens; held-back reasoning text may come out with it),
    or on the next one when the text produced none (a tag, or the newlines after a think
    block, that the parsers swallow)."""

    def __init__(self, choice: int, plan: OutputPlan, new_call_id: Callable[[], str]) -> None:
        self._parser = OutputParser(
            reasoning=plan.reasoning,
            start_in_reasoning=plan.start_in_reasoning,
            tool_format=plan.tool_format,
            tools=plan.tools,
        )
        self._assembler = PartAssembler(choice, new_call_id)
        self._reasoning_parts: set[int] = set()
        self._unattached: tuple[TokenLogprob, ...] = ()

    @property
    def tool_calls(self) -> int:
        return self._assembler.tool_calls

    @property
    def in_reasoning(self) -> bool:
        return self._parser.in_reasoning

    def start(self) -> list[Event]:
        return []

    def text(self, text: str, logprobs: tuple[TokenLogprob, ...]) -> list[Event]:
        return self._with_logprobs(self._assembler.feed(self._parser.feed(text)), logprobs)

    def finish(self) -> list[Event]:
        return self._assembler.feed(self._parser.flush()) + self._assembler.finish()

    def _with_logprobs(
        self, events: Sequence[Event], logprobs: tuple[TokenLogprob, ...]
    ) -> list[Event]:
        out = list(events)
        pending = self._unattached + logprobs
        for i, event in enumerate(out):
            if isinstance(event, PartStart) and event.kind is PartKind.REASONING:
                self._reasoning_parts.add(event.part)
            elif isinstance(event, PartDelta) and pending and not self._is_reasoning(event):
                out[i] = replace(event, logprobs=pending)
                pending = ()
        self._unattached = pending
        return out

    def _is_reasoning(self, delta: PartDelta) -> bool:
        return delta.part in self._reasoning_parts


def choice_output(
    choice: int, plan: OutputPlan, new_call_id: Callable[[], str]
) -> PlainOutput | ParsedOutput:
    return ParsedOutput(choice, plan, new_call_id) if plan.parses else PlainOutput(choice)
