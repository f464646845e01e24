"""One round of the tool loop: a call of the model, its events renumbered after the earlier
rounds', its calls to built-in functions turned into built-in call parts, and what the
history keeps of it for the next round."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace

from openscope.core import ids
from openscope.core.builtin_tools import BuiltinTool
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
from openscope.core.messages import (
    Message,
    Part,
    ReasoningPart,
    Role,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from openscope.core.request import ToolSpec
from openscope.core.tool_runner import BuiltinToolRunner, ToolOutcome


@dataclass(frozen=True, slots=True)
class Offered:
    """A built-in tool the loop runs for one request: the function the model sees for it."""

    spec: BuiltinTool
    runner: BuiltinToolRunner
    function: ToolSpec
    # An MCP server's tool (its name on the server): one server offers many functions.
    mcp_tool: str | None = None


@dataclass(slots=True)
class RoundPart:
    """A part of one round, as the client sees it (`index`) and as the history keeps it."""

    kind: PartKind
    index: int
    tool_call_id: str | None = None
    tool_name: str | None = None
    chunks: list[str] = field(default_factory=list)
    signature: str | None = None
    builtin: Offered | None = None  # a call to a built-in tool's function
    call_id: str = ""  # the built-in call part's own id (fresh)
    # An MCP call's part text as the client sees it (what the call is, `core.mcp`), sent
    # whole when the model's arguments are; `chunks` keep what the model wrote.
    sealed: str | None = None

    @property
    def text(self) -> str:
        return "".join(self.chunks)

    def message_part(self) -> Part | None:
        if self.kind is PartKind.TEXT:
            return TextPart(self.text)
        if self.kind is PartKind.REASONING:
            return ReasoningPart(self.text, signature=self.signature)
        if self.builtin is not None:
            return ToolCallPart(self.tool_call_id or "", self.builtin.function.name, self.text)
        return None


class Round:
    """One call of the model: its events renumbered after the earlier rounds', its calls
    to built-in functions turned into built-in call parts, its finish held back while a
    built-in call is pending, its usage reported on top of the earlier rounds'.

    A call to an MCP server's tool streams no deltas of its own: once the model's arguments
    are whole, `seal(part)` gives the call part's text (which server, which tool, whether
    it waits for approval), sent as one delta before the part ends."""

    def __init__(
        self,
        builtins: Mapping[str, Offered],
        first_part: int,
        before: Usage,
        seal: Callable[[RoundPart], str] | None = None,
    ) -> None:
        self._builtins = builtins
        self._seal = seal
        self._parts: dict[int, RoundPart] = {}
        self.next_part = first_part
        self._before = before
        self.usage = Usage()
        self.finish: FinishReason | None = None
        self.client_called = False

    @property
    def parts(self) -> list[RoundPart]:
        return list(self._parts.values())

    @property
    def builtin_calls(self) -> list[RoundPart]:
        return [part for part in self._parts.values() if part.builtin is not None]

    def take(self, event: Event) -> Iterator[Event]:
        match event:
            case UsageReport(usage=usage):
                self.usage = usage
                yield UsageReport(self._before + usage)
            case PartStart(choice=0):
                yield self._start(event)
            case PartDelta(choice=0) if event.part in self._parts:
                part = self._parts[event.part]
                part.chunks.append(event.text)
                if not _held(part):
                    yield replace(event, part=part.index)
            case PartEnd(choice=0) if event.part in self._parts:
                part = self._parts[event.part]
                part.signature = event.signature
                if _held(part) and self._seal is not None:
                    part.sealed = self._seal(part)
                    yield PartDelta(0, part.index, part.sealed)
                yield replace(event, part=part.index)
            case ChoiceEnd(choice=0):
                self.finish = event.finish_reason
                if not self.builtin_calls:
                    yield event  # the answer's one finish
            case _:
                yield event  # only choice 0 exists here (n > 1 is refused)

    def _start(self, event: PartStart) -> PartStart:
        part = RoundPart(event.kind, self.next_part, event.tool_call_id, event.tool_name)
        self.next_part += 1
        self._parts[event.part] = part
        builtin = self._builtins.get(event.tool_name or "")
        if event.kind is not PartKind.TOOL_CALL:
            return replace(event, part=part.index)
        if builtin is None:
            self.client_called = True
            return replace(event, part=part.index)
        part.builtin = builtin
        part.call_id = ids.tool_call_id()
        part.tool_call_id = event.tool_call_id or ids.tool_call_id()
        kind = str(builtin.spec.kind)
        return PartStart(0, part.index, PartKind.BUILTIN_CALL, part.call_id, kind)


def _held(part: RoundPart) -> bool:
    return part.builtin is not None and part.builtin.mcp_tool is not None


def history_of(turn: Round, outcomes: list[ToolOutcome]) -> list[Message]:
    """The model's turn (what it said, and its calls) and one tool turn per call with what
    the model reads of its result."""
    parts = tuple(p for p in (part.message_part() for part in turn.parts) if p is not None)
    results = [
        Message(
            Role.TOOL,
            (
                ToolResultPart(
                    tool_call.tool_call_id or "",
                    (TextPart(outcome.for_model),),
                    is_error=outcome.status == "failed",
                ),
            ),
            name=tool_call.builtin.function.name if tool_call.builtin else None,
        )
        for tool_call, outcome in zip(turn.builtin_calls, outcomes, strict=True)
    ]
    return [Message(Role.ASSISTANT, parts), *results]
