"""Core results and events -> Chat Completions JSON and stream chunks, shaped as Model
Studio's samples in shared/seeds."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, assert_never

from openscope.core.builtin_tools import BuiltinToolKind
from openscope.core.errors import ErrorKind, OpenScopeError, error_code
from openscope.core.events import (
    BUILTIN_KINDS,
    AudioDelta,
    ChoiceEnd,
    Event,
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
from openscope.core.fold import Choice, GenerateResult, SpokenAnswer
from openscope.core.messages import BuiltinResultPart, ToolCallPart
from openscope.protocols.openai_chat import names
from openscope.protocols.statuses import HTTP_STATUS

# kind -> error type, as Model Studio's compatible mode answers.
ERROR_TYPES: dict[ErrorKind, str] = {
    ErrorKind.INVALID_PARAMETER: "invalid_request_error",
    ErrorKind.AUTHENTICATION: "invalid_request_error",
    ErrorKind.PERMISSION: "invalid_request_error",
    ErrorKind.NOT_FOUND: "invalid_request_error",
    ErrorKind.MODEL_NOT_FOUND: "invalid_request_error",
    ErrorKind.REQUEST_TOO_LARGE: "invalid_request_error",
    ErrorKind.OVERLOADED: "service_unavailable_error",
    ErrorKind.INTERNAL: "internal_error",
}  # and a 429's type is its code ("type": "limit_requests"), as Model Studio answers


def error_status(error: OpenScopeError) -> int:
    return HTTP_STATUS[error.kind]


def error_body(error: OpenScopeError, request_id: str) -> dict[str, Any]:
    return {
        "error": {
            "message": names.message(error),
            "type": error_code(error)
            if error.kind is ErrorKind.RATE_LIMITED
            else ERROR_TYPES[error.kind],
            "param": names.param(error),
            "code": error_code(error),
        },
        "request_id": request_id,
    }


def usage_body(usage: Usage) -> dict[str, Any]:
    body: dict[str, Any] = {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
        "prompt_tokens_details": _prompt_details(usage),
    }
    completion: dict[str, Any] = {}
    if usage.reasoning_tokens:
        completion["reasoning_tokens"] = usage.reasoning_tokens
    if usage.output_audio_tokens:
        completion["audio_tokens"] = usage.output_audio_tokens
    if completion:
        body["completion_tokens_details"] = completion
    return body


def _prompt_details(usage: Usage) -> dict[str, Any]:
    """An implicit hit shows only cached_tokens; an explicit request also shows what it
    wrote to the cache (BEHAVIOUR.md, "Context cache")."""
    details: dict[str, Any] = {"cached_tokens": usage.cached_tokens}
    if usage.input_audio_tokens:
        details["audio_tokens"] = usage.input_audio_tokens
    if usage.cache_type is not None:
        details["cache_creation_input_tokens"] = usage.cache_creation_tokens
        details["cache_creation"] = {"ephemeral_5m_input_tokens": usage.cache_creation_tokens}
        details["cache_type"] = usage.cache_type
    return details


def logprobs_body(entries: tuple[TokenLogprob, ...]) -> dict[str, Any]:
    return {
        "content": [
            {
                "token": e.token,
                "logprob": e.logprob,
                "bytes": list(e.bytes),
                "top_logprobs": [
                    {"token": t.token, "logprob": t.logprob, "bytes": list(t.bytes)} for t in e.top
                ],
            }
            for e in entries
        ]
    }


def _tool_call_body(call: ToolCallPart, index: int) -> dict[str, Any]:
    return {
        "index": index,
        "id": call.id,
        "type": "function",
        "function": {"name": call.name, "arguments": call.arguments},
    }


def audio_body(audio: SpokenAnswer) -> dict[str, Any]:
    """A message's `audio`, as OpenAI's chat answers it (id, data, expires_at, transcript)."""
    return {
        "id": audio.id,
        "data": audio.data,
        "expires_at": audio.expires_at,
        "transcript": audio.transcript,
    }


def audio_delta_body(delta: AudioDelta) -> dict[str, Any]:
    """A chunk's `delta.audio`: what this delta carries, as Model Studio streams it (the
    data with its id and expiry, or a piece of the transcript)."""
    body: dict[str, Any] = {}
    if delta.id is not None:
        body["id"] = delta.id
    if delta.data:
        body["data"] = delta.data
    if delta.expires_at is not None:
        body["expires_at"] = delta.expires_at
    if delta.transcript:
        body["transcript"] = delta.transcript
    return body


def _choice_body(choice: Choice) -> dict[str, Any]:
    message = choice.message
    calls = message.tool_calls
    # A turn that only calls tools has no content (null), as OpenAI and Model Studio send.
    content = None if calls and not message.text else message.text
    body: dict[str, Any] = {"role": "assistant", "content": content}
    if message.reasoning:
        body["reasoning_content"] = message.reasoning
    if calls:
        body["tool_calls"] = [_tool_call_body(c, i) for i, c in enumerate(calls)]
    if choice.audio is not None:
        body["audio"] = audio_body(choice.audio)
    return {
        "message": body,
        "finish_reason": str(choice.finish_reason),
        "index": choice.index,
        "logprobs": logprobs_body(choice.logprobs) if choice.logprobs is not None else None,
    }


def search_results_of(output: str) -> list[dict[str, Any]]:
    """The `search_results` a web search's result output carries (none if it is not the
    JSON object the server's web search writes)."""
    try:
        parsed = json.loads(output)
    except ValueError:
        return []
    results = parsed.get("search_results") if isinstance(parsed, dict) else None
    return [r for r in results if isinstance(r, dict)] if isinstance(results, list) else []


def completion_body(
    result: GenerateResult,
    *,
    completion_id: str,
    created: int,
    model: str,
    search_sources: bool = False,
) -> dict[str, Any]:
    """`search_sources` (`search_options.enable_source`): the results of the searches the
    server ran, as `search_info.search_results` (Model Studio's native field; its
    compatible mode sends none, so without it the body is byte-identical to that)."""
    body: dict[str, Any] = {
        "choices": [_choice_body(c) for c in result.choices],
        "object": "chat.completion",
        "usage": usage_body(result.usage),
        "created": created,
        "system_fingerprint": None,
        "model": model,
        "id": completion_id,
    }
    if search_sources:
        found = [
            entry
            for choice in result.choices
            for part in choice.message.parts
            if isinstance(part, BuiltinResultPart) and part.tool is BuiltinToolKind.WEB_SEARCH
            for entry in search_results_of(part.output)
        ]
        if found:
            body["search_info"] = {"search_results": found}
    return body


@dataclass(slots=True)
class _ChoiceState:
    announced: bool = False
    tool_calls: dict[int, int] = field(default_factory=dict)  # part index -> tool call index
    kinds: dict[int, PartKind] = field(default_factory=dict)
    searches: dict[int, list[str]] = field(default_factory=dict)  # web search results read


class ChunkEncoder:
    """Turns events into `chat.completion.chunk` objects, one stream at a time."""

    def __init__(
        self,
        *,
        completion_id: str,
        created: int,
        model: str,
        include_usage: bool,
        logprobs: bool,
        search_sources: bool = False,
    ) -> None:
        """`search_sources`: as for `completion_body`; the results go out as `search_info`
        on the first chunk after each search (the server searches between model turns, so
        the stream's first chunk may precede them)."""
        self._search_sources = search_sources
        self._found: list[dict[str, Any]] = []  # search results not sent yet
        self._id = completion_id
        self._created = created
        self._model = model
        self._include_usage = include_usage
        self._logprobs = logprobs
        self._choices: dict[int, _ChoiceState] = {}
        self._usage = Usage()

    def _chunk(
        self,
        choice: int,
        delta: dict[str, Any],
        *,
        finish_reason: str | None = None,
        logprobs: tuple[TokenLogprob, ...] = (),
    ) -> dict[str, Any]:
        chunk: dict[str, Any] = {
            "choices": [
                {
                    "delta": delta,
                    "finish_reason": finish_reason,
                    "index": choice,
                    "logprobs": logprobs_body(logprobs) if self._logprobs and logprobs else None,
                }
            ],
            "object": "chat.completion.chunk",
            "usage": None,
            "created": self._created,
            "system_fingerprint": None,
            "model": self._model,
            "id": self._id,
        }
        if self._found:
            chunk["search_info"] = {"search_results": self._found}
            self._found = []
        return chunk

    def _announce(self, choice: int) -> list[dict[str, Any]]:
        state = self._choices.setdefault(choice, _ChoiceState())
        if state.announced:
            return []
        state.announced = True
        return [self._chunk(choice, {"content": "", "role": "assistant"})]

    def encode(self, event: Event) -> list[dict[str, Any]]:
        match event:
            case UsageReport(usage=usage):
                self._usage = usage
                return []
            case TurnRecorded():
                return []  # chat keeps no turns
            case LimitsChecked():
                return []  # sent as headers
            case PartStart():
                chunks = self._announce(event.choice)
                state = self._choices[event.choice]
                state.kinds[event.part] = event.kind
                if event.kind in BUILTIN_KINDS:  # chat shows no code, and sources only if asked
                    searched = event.kind is PartKind.BUILTIN_RESULT and (
                        event.tool_name == BuiltinToolKind.WEB_SEARCH
                    )
                    if self._search_sources and searched:
                        state.searches[event.part] = []
                    return chunks
                if event.kind is PartKind.TOOL_CALL:
                    index = len(state.tool_calls)
                    state.tool_calls[event.part] = index
                    call = {
                        "index": index,
                        "id": event.tool_call_id,
                        "type": "function",
                        "function": {"name": event.tool_name, "arguments": ""},
                    }
                    chunks.append(
                        self._chunk(event.choice, {"content": None, "tool_calls": [call]})
                    )
                return chunks
            case PartDelta():
                chunks = self._announce(event.choice)
                state = self._choices[event.choice]
                kind = state.kinds.get(event.part, PartKind.TEXT)
                if kind in BUILTIN_KINDS:
                    if event.part in state.searches:
                        state.searches[event.part].append(event.text)
                    return chunks
                if kind is PartKind.TEXT:
                    delta: dict[str, Any] = {"content": event.text}
                elif kind is PartKind.REASONING:
                    delta = {"content": None, "reasoning_content": event.text}
                else:
                    call = {
                        "index": state.tool_calls[event.part],
                        "function": {"arguments": event.text},
                    }
                    delta = {"content": None, "tool_calls": [call]}
                chunks.append(self._chunk(event.choice, delta, logprobs=event.logprobs))
                return chunks
            case PartEnd():
                chunks = self._announce(event.choice)
                read = self._choices[event.choice].searches.pop(event.part, None)
                if read is not None:
                    self._found.extend(search_results_of("".join(read)))
                return chunks
            case AudioDelta():
                chunks = self._announce(event.choice)
                delta = {"content": None, "audio": audio_delta_body(event)}
                chunks.append(self._chunk(event.choice, delta))
                return chunks
            case ChoiceEnd():
                chunks = self._announce(event.choice)
                finish = str(event.finish_reason)
                chunks.append(self._chunk(event.choice, {"content": ""}, finish_reason=finish))
                return chunks
            case _:
                assert_never(event)

    def finish(self) -> list[dict[str, Any]]:
        if not self._include_usage:
            return []
        return [
            {
                "choices": [],
                "object": "chat.completion.chunk",
                "usage": usage_body(self._usage),
                "created": self._created,
                "system_fingerprint": None,
                "model": self._model,
                "id": self._id,
            }
        ]
