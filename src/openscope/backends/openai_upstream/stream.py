"""The upstream's Chat Completions stream as core events, normalised: reasoning under
whichever field the engine uses becomes a reasoning part; tool calls are assembled from
however the engine splits them (by index, name and id in any chunk, arguments in pieces or
whole) and handed on whole, each once; usage is kept for the end."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from openscope.backends.openai_upstream.dialect import Dialect
from openscope.core.events import (
    AudioDelta,
    ChoiceEnd,
    Event,
    FinishReason,
    PartDelta,
    PartEnd,
    PartKind,
    PartStart,
    TokenLogprob,
    TopLogprob,
    Usage,
    UsageReport,
)
from openscope.parsing.pipeline import OutputParser
from openscope.parsing.segments import (
    ReasoningChunk,
    Segment,
    TextChunk,
    ToolCallArguments,
    ToolCallBegin,
    ToolCallEnd,
)


class UpstreamAborted(Exception):
    """The upstream ended a choice with `abort` or `error`: a failure, not an answer."""


FINISH_REASONS = {
    "stop": FinishReason.STOP,
    "length": FinishReason.LENGTH,
    "tool_calls": FinishReason.TOOL_CALLS,
    "function_call": FinishReason.TOOL_CALLS,
    "content_filter": FinishReason.CONTENT_FILTER,
}


@dataclass(slots=True)
class _Call:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Choice:
    index: int
    parts: int = 0  # parts opened so far
    open_kind: PartKind | None = None  # the text or reasoning part being streamed
    calls: dict[int, _Call] = field(default_factory=dict)  # by the upstream's call index
    ended: bool = False
    parser: OutputParser | None = None  # for an engine that returns its raw text
    parsed_call: _Call | None = None  # the call the parser is in


class ChunkReader:
    """Feed it each chunk's JSON; it yields the core events so far."""

    def __init__(
        self, dialect: Dialect, raw_text: Callable[[], OutputParser] | None = None
    ) -> None:
        """`raw_text` builds a parser for an engine that returns think blocks and tool calls
        as plain text in its content (no reasoning or tool parser of its own)."""
        self._dialect = dialect
        self._raw_text = raw_text
        self._choices: dict[int, _Choice] = {}
        self.usage: Usage | None = None

    @property
    def complete(self) -> bool:
        """Every choice seen has ended."""
        return bool(self._choices) and all(c.ended for c in self._choices.values())

    def feed(self, chunk: dict[str, Any]) -> Iterator[Event]:
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self.usage = usage_of(usage)
        for raw in chunk.get("choices") or ():
            index = int(raw.get("index") or 0)
            choice = self._choices.get(index)
            if choice is None:
                parser = self._raw_text() if self._raw_text is not None else None
                choice = self._choices[index] = _Choice(index, parser=parser)
            if choice.ended:
                continue
            yield from self._delta(choice, raw.get("delta") or raw.get("message") or {}, raw)
            reason = raw.get("finish_reason")
            if reason in FINISH_REASONS:
                yield from self._end(choice, FINISH_REASONS[reason])
            elif reason in ("abort", "error"):
                raise UpstreamAborted(f"the upstream ended choice {index} with {reason!r}")
            # anything else ("null", an engine's own word) does not end the choice

    def finish(self) -> Iterator[Event]:
        """After the last chunk: the final usage."""
        yield UsageReport(self.usage or Usage())

    def _delta(
        self, choice: _Choice, delta: dict[str, Any], raw: dict[str, Any]
    ) -> Iterator[Event]:
        reasoning = next(
            (delta[f] for f in self._dialect.reasoning_fields if isinstance(delta.get(f), str)),
            None,
        )
        if reasoning:
            yield from self._text(choice, PartKind.REASONING, reasoning, ())
        content = delta.get("content")
        if isinstance(content, str) and content:
            logprobs = _logprobs(raw.get("logprobs"))
            if choice.parser is None:
                yield from self._text(choice, PartKind.TEXT, content, logprobs)
            else:
                yield from self._segments(choice, choice.parser.feed(content))
        audio = delta.get("audio")
        if isinstance(audio, dict):
            spoken = _audio_delta(choice.index, audio)
            if spoken is not None:
                yield spoken
        for call in delta.get("tool_calls") or ():
            pending = self._call_for(choice, call)
            pending.id = pending.id or str(call.get("id") or "")
            function = call.get("function") or {}
            pending.name = pending.name or str(function.get("name") or "")
            piece = function.get("arguments")
            if isinstance(piece, str):
                pending.arguments.append(piece)
            elif isinstance(piece, dict):  # some engines send the arguments as an object
                pending.arguments.append(orjson.dumps(piece).decode())

    @staticmethod
    def _call_for(choice: _Choice, call: dict[str, Any]) -> _Call:
        """The call a tool-call delta continues or starts. Engines differ: some give every
        call its own `index`, some reuse index 0 with a new id for each call, some give no
        index at all (then the id decides, and without one the last call goes on)."""
        index, call_id = call.get("index"), call.get("id") or ""
        if isinstance(index, int):
            known = choice.calls.get(index)
            if known is not None and (not call_id or not known.id or known.id == call_id):
                return known
            if known is None:
                choice.calls[index] = _Call()
                return choice.calls[index]
        for known in choice.calls.values():
            if call_id and known.id == call_id:
                return known
        if not call_id and choice.calls:
            return choice.calls[max(choice.calls)]
        position = max(choice.calls, default=-1) + 1
        choice.calls[position] = _Call()
        return choice.calls[position]

    def _text(
        self, choice: _Choice, kind: PartKind, text: str, logprobs: tuple[TokenLogprob, ...]
    ) -> Iterator[Event]:
        if choice.open_kind is not kind:
            yield from self._close(choice)
            yield PartStart(choice.index, choice.parts, kind)
            choice.open_kind = kind
        yield PartDelta(choice.index, choice.parts, text, logprobs)

    def _close(self, choice: _Choice) -> Iterator[Event]:
        if choice.open_kind is not None:
            yield PartEnd(choice.index, choice.parts)
            choice.parts += 1
            choice.open_kind = None

    def _segments(self, choice: _Choice, segments: list[Segment]) -> Iterator[Event]:
        for segment in segments:
            match segment:
                case TextChunk(text=text) if text:
                    yield from self._text(choice, PartKind.TEXT, text, ())
                case ReasoningChunk(text=text) if text:
                    yield from self._text(choice, PartKind.REASONING, text, ())
                case ToolCallBegin(name=name):
                    choice.parsed_call = choice.calls.setdefault(
                        len(choice.calls), _Call(name=name)
                    )
                case ToolCallArguments(text=text) if choice.parsed_call is not None:
                    choice.parsed_call.arguments.append(text)
                case ToolCallEnd():
                    choice.parsed_call = None
                case _:
                    pass  # empty text

    def _end(self, choice: _Choice, reason: FinishReason) -> Iterator[Event]:
        if choice.parser is not None:
            yield from self._segments(choice, choice.parser.flush())
        yield from self._close(choice)
        for position in sorted(choice.calls):
            call = choice.calls[position]
            arguments = "".join(call.arguments).strip() or "{}"
            call_id = call.id or f"call_{choice.index}_{position}"
            yield PartStart(
                choice.index,
                choice.parts,
                PartKind.TOOL_CALL,
                tool_call_id=call_id,
                tool_name=call.name,
            )
            yield PartDelta(choice.index, choice.parts, arguments)
            yield PartEnd(choice.index, choice.parts)
            choice.parts += 1
        if choice.calls and reason is FinishReason.STOP:
            reason = FinishReason.TOOL_CALLS  # some engines say "stop" after calling tools
        choice.ended = True
        yield ChoiceEnd(choice.index, reason)


def _audio_delta(choice: int, audio: dict[str, Any]) -> AudioDelta | None:
    """A delta's (or a whole message's) `audio`: the next base64 data with its id and
    expiry, or a piece of the transcript, or both."""
    data, transcript = audio.get("data"), audio.get("transcript")
    audio_id, expires = audio.get("id"), audio.get("expires_at")
    spoken = AudioDelta(
        choice,
        data=data if isinstance(data, str) else "",
        transcript=transcript if isinstance(transcript, str) else "",
        id=audio_id if isinstance(audio_id, str) else None,
        expires_at=expires if isinstance(expires, int) else None,
    )
    empty = AudioDelta(choice)
    return None if spoken == empty else spoken


def usage_of(usage: dict[str, Any]) -> Usage:
    prompt = usage.get("prompt_tokens_details") or {}
    completion = usage.get("completion_tokens_details") or {}
    return Usage(
        input_tokens=int(usage.get("prompt_tokens") or 0),
        output_tokens=int(usage.get("completion_tokens") or 0),
        cached_tokens=int(prompt.get("cached_tokens") or 0),
        cache_creation_tokens=int(prompt.get("cache_creation_input_tokens") or 0),
        reasoning_tokens=int(completion.get("reasoning_tokens") or 0),
        input_audio_tokens=int(prompt.get("audio_tokens") or 0),
        output_audio_tokens=int(completion.get("audio_tokens") or 0),
        cache_type=prompt.get("cache_type"),
    )


def _logprobs(raw: Any) -> tuple[TokenLogprob, ...]:
    if not isinstance(raw, dict):
        return ()
    entries = []
    for entry in raw.get("content") or ():
        top = tuple(
            TopLogprob(t["token"], float(t["logprob"]), tuple(t.get("bytes") or ()))
            for t in entry.get("top_logprobs") or ()
        )
        entries.append(
            TokenLogprob(
                entry["token"], float(entry["logprob"]), tuple(entry.get("bytes") or ()), top
            )
        )
    return tuple(entries)
