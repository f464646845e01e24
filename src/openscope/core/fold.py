"""`fold()`: a non-streaming answer is a folded stream."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterable, Iterable
from dataclasses import dataclass, field
from typing import assert_never

from openscope.core.builtin_tools import BuiltinToolKind
from openscope.core.events import (
    AudioDelta,
    ChoiceEnd,
    Event,
    FinishReason,
    LimitsChecked,
    PartDelta,
    PartEnd,
    PartKind,
    PartStart,
    TokenLogprob,
    TurnRecorded,
    Usage,
    UsageReport,
)
from openscope.core.messages import (
    BuiltinCallPart,
    BuiltinResultPart,
    Message,
    Part,
    ReasoningPart,
    Role,
    TextPart,
    ToolCallPart,
)
from openscope.core.state import StoredResponse


@dataclass(frozen=True, slots=True)
class SpokenAnswer:
    """A choice's audio, whole: `data` is base64 of all its bytes, encoded once."""

    data: str
    transcript: str
    id: str | None = None
    expires_at: int | None = None


@dataclass(frozen=True, slots=True)
class Choice:
    index: int
    message: Message
    finish_reason: FinishReason
    stop_sequence: str | None = None
    logprobs: tuple[TokenLogprob, ...] | None = None
    audio: SpokenAnswer | None = None


@dataclass(slots=True)
class _OpenAudio:
    chunks: list[bytes] = field(default_factory=list)
    transcript: list[str] = field(default_factory=list)
    id: str | None = None
    expires_at: int | None = None

    def add(self, delta: AudioDelta) -> None:
        # Each delta's base64 stands alone: joined as text, a delta whose bytes are not a
        # whole number of 3-byte groups would end in padding mid-string.
        if delta.data:
            self.chunks.append(base64.b64decode(delta.data))
        self.transcript.append(delta.transcript)
        self.id = delta.id or self.id
        self.expires_at = delta.expires_at or self.expires_at

    def close(self) -> SpokenAnswer:
        data = base64.b64encode(b"".join(self.chunks)).decode("ascii")
        return SpokenAnswer(data, "".join(self.transcript), self.id, self.expires_at)


@dataclass(frozen=True, slots=True)
class GenerateResult:
    choices: tuple[Choice, ...]
    usage: Usage = field(default_factory=Usage)
    recorded: StoredResponse | None = None  # a Responses turn, as it was kept


@dataclass(slots=True)
class _OpenPart:
    kind: PartKind
    tool_call_id: str | None
    tool_name: str | None
    status: str | None = None
    chunks: list[str] = field(default_factory=list)
    signature: str | None = None

    def close(self) -> Part:
        text = "".join(self.chunks)
        match self.kind:
            case PartKind.TEXT:
                return TextPart(text)
            case PartKind.REASONING:
                return ReasoningPart(text, signature=self.signature)
            case PartKind.TOOL_CALL:
                return ToolCallPart(
                    id=self.tool_call_id or "", name=self.tool_name or "", arguments=text
                )
            case PartKind.BUILTIN_CALL:
                tool = BuiltinToolKind(self.tool_name or "")
                return BuiltinCallPart(id=self.tool_call_id or "", tool=tool, arguments=text)
            case PartKind.BUILTIN_RESULT:
                tool = BuiltinToolKind(self.tool_name or "")
                return BuiltinResultPart(
                    call_id=self.tool_call_id or "",
                    tool=tool,
                    output=text,
                    status=self.status or "completed",
                )
            case _:
                assert_never(self.kind)


@dataclass(slots=True)
class _OpenChoice:
    parts: dict[int, _OpenPart] = field(default_factory=dict)
    logprobs: list[TokenLogprob] = field(default_factory=list)
    finish: ChoiceEnd | None = None
    audio: _OpenAudio | None = None


class Folder:
    """Accumulates events; usable incrementally by encoders that also need the whole."""

    def __init__(self, *, logprobs: bool = False) -> None:
        self._choices: dict[int, _OpenChoice] = {}
        self.usage = Usage()
        self.recorded: StoredResponse | None = None  # a Responses turn's record, once kept
        self._logprobs = logprobs

    def add(self, event: Event) -> None:
        match event:
            case UsageReport(usage=usage):
                self.usage = usage
            case PartStart():
                choice = self._choice(event.choice)
                choice.parts[event.part] = _OpenPart(
                    event.kind, event.tool_call_id, event.tool_name, event.status
                )
            case PartDelta():
                choice = self._choice(event.choice)
                choice.parts[event.part].chunks.append(event.text)
                choice.logprobs.extend(event.logprobs)
            case PartEnd():
                self._choice(event.choice).parts[event.part].signature = event.signature
            case AudioDelta():
                choice = self._choice(event.choice)
                if choice.audio is None:
                    choice.audio = _OpenAudio()
                choice.audio.add(event)
            case ChoiceEnd():
                self._choice(event.choice).finish = event
            case TurnRecorded():
                self.recorded = event.record
            case LimitsChecked():
                pass
            case _:
                assert_never(event)

    def _choice(self, index: int) -> _OpenChoice:
        return self._choices.setdefault(index, _OpenChoice())

    def result(self) -> GenerateResult:
        choices = []
        for index in sorted(self._choices):
            open_choice = self._choices[index]
            finish = open_choice.finish
            parts = tuple(open_choice.parts[i].close() for i in sorted(open_choice.parts))
            choices.append(
                Choice(
                    index=index,
                    message=Message(role=Role.ASSISTANT, parts=parts),
                    finish_reason=finish.finish_reason if finish else FinishReason.STOP,
                    stop_sequence=finish.stop_sequence if finish else None,
                    logprobs=tuple(open_choice.logprobs) if self._logprobs else None,
                    audio=open_choice.audio.close() if open_choice.audio else None,
                )
            )
        return GenerateResult(choices=tuple(choices), usage=self.usage, recorded=self.recorded)


def fold(events: Iterable[Event], *, logprobs: bool = False) -> GenerateResult:
    folder = Folder(logprobs=logprobs)
    for event in events:
        folder.add(event)
    return folder.result()


async def afold(events: AsyncIterable[Event], *, logprobs: bool = False) -> GenerateResult:
    folder = Folder(logprobs=logprobs)
    async for event in events:
        folder.add(event)
    return folder.result()
