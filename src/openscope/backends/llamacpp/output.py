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
    their own. Logprobs ride on the first delta that the same text produced."""

    def __init__(self, choice: int, plan: OutputPlan, new_call_id: Callable[[], str]) -> None:
        self._parser = OutputParser(
            reasoning=plan.reasoning,
            start_in_reasoning=plan.start_in_reasoning,
            tool_format=plan.tool_format,
            tools=plan.tools,
        )
        self._assembler = PartAssembler(choice, new_call_id)

    @property
    def tool_calls(self) -> int:
        return self._assembler.tool_calls

    @property
    def in_reasoning(self) -> bool:
        return self._parser.in_reasoning

    def start(self) -> list[Event]:
        return []

    def text(self, text: str, logprobs: tuple[TokenLogprob, ...]) -> list[Event]:
        return _with_logprobs(self._assembler.feed(self._parser.feed(text)), logprobs)

    def finish(self) -> list[Event]:
        return self._assembler.feed(self._parser.flush()) + self._assembler.finish()


def _with_logprobs(events: Sequence[Event], logprobs: tuple[TokenLogprob, ...]) -> list[Event]:
    out = list(events)
    if logprobs:
        for i, event in enumerate(out):
            if isinstance(event, PartDelta):
                out[i] = replace(event, logprobs=logprobs)
                break
    return out


def choice_output(
    choice: int, plan: OutputPlan, new_call_id: Callable[[], str]
) -> PlainOutput | ParsedOutput:
    return ParsedOutput(choice, plan, new_call_id) if plan.parses else PlainOutput(choice)
