"""Core results and events -> Anthropic Messages JSON and stream events."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from typing import Any, assert_never

from openscope.core.arguments import arguments_object
from openscope.core.builtin_tools import BuiltinToolKind
from openscope.core.errors import ErrorKind, OpenScopeError
from openscope.core.events import (
    BUILTIN_KINDS,
    AudioDelta,
    ChoiceEnd,
    Event,
    FinishReason,
    LimitsChecked,
    PartDelta,
    PartEnd,
    PartKind,
    PartStart,
    TurnRecorded,
    Usage,
    UsageReport,
)
from openscope.core.fold import GenerateResult
from openscope.core.messages import (
    BuiltinCallPart,
    BuiltinResultPart,
    Part,
    ReasoningPart,
    TextPart,
    ToolCallPart,
)
from openscope.protocols.anthropic_messages import names, web_search
from openscope.protocols.statuses import HTTP_STATUS

# A hit stop sequence still ends the turn normally, and `stop_sequence` is always null
# (Model Studio's Anthropic-compatible API, per the seed).
STOP_REASONS = {
    FinishReason.STOP: "end_turn",
    FinishReason.LENGTH: "max_tokens",
    FinishReason.TOOL_CALLS: "tool_use",
    FinishReason.CONTENT_FILTER: "refusal",
}

# kind -> Anthropic error type; the SDK picks its exception by status, and Anthropic says
# "overloaded" with 529 where Model Studio's compatible mode says 503.
ERROR_TYPES: dict[ErrorKind, str] = {
    ErrorKind.INVALID_PARAMETER: "invalid_request_error",
    ErrorKind.AUTHENTICATION: "authentication_error",
    ErrorKind.PERMISSION: "permission_error",
    ErrorKind.NOT_FOUND: "not_found_error",
    ErrorKind.MODEL_NOT_FOUND: "not_found_error",
    ErrorKind.REQUEST_TOO_LARGE: "request_too_large",
    ErrorKind.RATE_LIMITED: "rate_limit_error",
    ErrorKind.OVERLOADED: "overloaded_error",
    ErrorKind.INTERNAL: "api_error",
}
STATUSES = {**HTTP_STATUS, ErrorKind.OVERLOADED: 529}


def error_status(error: OpenScopeError) -> int:
    return STATUSES[error.kind]


def error_body(error: OpenScopeError, request_id: str) -> dict[str, Any]:
    return {
        "type": "error",
        "error": {"type": ERROR_TYPES[error.kind], "message": names.message(error)},
        "request_id": request_id,
    }


def signature_of(thinking: str) -> str:
    """A signature for thinking the backend did not sign: a digest of the text, so a client
    that hands the block back unchanged hands back a matching pair."""
    return base64.b64encode(hashlib.sha256(thinking.encode()).digest()).decode()


def usage_body(usage: Usage, searches: list[str] | None = None) -> dict[str, Any]:
    """`searches`: the statuses of the answer's web search results, when it has any (then
    `server_tool_use` counts them, as Anthropic's answers that used the tool do)."""
    # Anthropic counts cache reads and writes apart from input_tokens.
    uncached = usage.input_tokens - usage.cached_tokens - usage.cache_creation_tokens
    body: dict[str, Any] = {
        "input_tokens": max(0, uncached),
        "output_tokens": usage.output_tokens,
        "cache_creation_input_tokens": usage.cache_creation_tokens,
        "cache_read_input_tokens": usage.cached_tokens,
    }
    if searches:
        body["server_tool_use"] = web_search.searches(searches)
    return body


def _block(part: Part) -> dict[str, Any] | None:
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text}
    if isinstance(part, ReasoningPart):
        return {
            "type": "thinking",
            "thinking": part.text,
            "signature": part.signature or signature_of(part.text),
        }
    if isinstance(part, ToolCallPart):
        return {
            "type": "tool_use",
            "id": part.id,
            "name": part.name,
            "input": arguments_object(part.arguments),
        }
    # Of the server's own tools only web search is an Anthropic server tool: the others'
    # runs are not shown here (Model Studio's Messages API documents no server tools).
    if isinstance(part, BuiltinCallPart) and part.tool is BuiltinToolKind.WEB_SEARCH:
        return web_search.call_block(part.id, arguments_object(part.arguments))
    if isinstance(part, BuiltinResultPart) and part.tool is BuiltinToolKind.WEB_SEARCH:
        return web_search.result_block(part.call_id, part.output, part.status)
    return None


def message_body(result: GenerateResult, *, message_id: str, model: str) -> dict[str, Any]:
    choice = result.choices[0]
    parts = choice.message.parts
    blocks = [b for b in (_block(p) for p in parts) if b is not None]
    searches = [
        p.status
        for p in parts
        if isinstance(p, BuiltinResultPart) and p.tool is BuiltinToolKind.WEB_SEARCH
    ]
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": blocks,
        "stop_reason": STOP_REASONS[choice.finish_reason],
        "stop_sequence": None,
        "usage": usage_body(result.usage, searches),
    }


StreamEvent = tuple[str, dict[str, Any]]
_SEARCH = str(BuiltinToolKind.WEB_SEARCH)


@dataclass(slots=True)
class _Block:
    index: int
    kind: PartKind
    text: list[str] = field(default_factory=list)
    call_id: str = ""  # a web search result's call
    status: str = "completed"  # a web search result's


class EventEncoder:
    """Turns core events into Anthropic's stream events, in Anthropic's order:
    message_start, ping, (content_block_start, deltas, content_block_stop)*, message_delta,
    message_stop. Only choice 0 exists in this API."""

    def __init__(self, *, message_id: str, model: str) -> None:
        self._id = message_id
        self._model = model
        self._started = False
        self._blocks: dict[int, _Block] = {}
        self._usage = Usage()
        self._stop_reason: str | None = None
        self._searches: list[str] = []  # the statuses of the web search results so far

    def _start(self) -> list[StreamEvent]:
        if self._started:
            return []
        self._started = True
        message: dict[str, Any] = {
            "id": self._id,
            "type": "message",
            "role": "assistant",
            "model": self._model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            # The seed: message_start carries input and output tokens only.
            "usage": {
                "input_tokens": usage_body(self._usage)["input_tokens"],
                "output_tokens": self._usage.output_tokens,
            },
        }
        return [
            ("message_start", {"type": "message_start", "message": message}),
            ("ping", {"type": "ping"}),
        ]

    def encode(self, event: Event) -> list[StreamEvent]:
        if isinstance(event, UsageReport):
            self._usage = event.usage  # before the start, which announces the input tokens
        out = self._start()
        match event:
            case UsageReport():
                pass
            case TurnRecorded():
                pass  # Messages keeps no turns
            case LimitsChecked():
                pass  # sent as headers
            case PartStart() | PartDelta() | PartEnd() | ChoiceEnd() if event.choice != 0:
                pass  # this API has one choice
            # Only web search is an Anthropic server tool: other built-in runs are not shown
            # (Model Studio's Messages API documents no server tools).
            case PartStart() if event.kind in BUILTIN_KINDS and event.tool_name != _SEARCH:
                pass
            case PartStart() if event.kind is PartKind.BUILTIN_RESULT:
                # Anthropic sends a search's result whole, in its block's start: held back
                # until its end.
                index = len(self._blocks)
                status = event.status or "completed"
                result = _Block(index, event.kind, call_id=event.tool_call_id or "", status=status)
                self._blocks[event.part] = result
            case PartStart():
                out.append(self._open(event))
            case PartDelta() | PartEnd() if self._holds_result(event.part):
                out.extend(self._result(self._blocks[event.part], event))
            case PartDelta() | PartEnd() if event.part not in self._blocks:
                pass  # a part no block was opened for
            case PartDelta():
                block = self._blocks[event.part]
                block.text.append(event.text)
                if block.kind is PartKind.TEXT:
                    delta: dict[str, Any] = {"type": "text_delta", "text": event.text}
                elif block.kind is PartKind.REASONING:
                    delta = {"type": "thinking_delta", "thinking": event.text}
                else:
                    delta = {"type": "input_json_delta", "partial_json": event.text}
                out.append(("content_block_delta", self._delta(block.index, delta)))
            case PartEnd():
                block = self._blocks[event.part]
                if block.kind is PartKind.REASONING:
                    signature = event.signature or signature_of("".join(block.text))
                    delta = {"type": "signature_delta", "signature": signature}
                    out.append(("content_block_delta", self._delta(block.index, delta)))
                stop = {"type": "content_block_stop", "index": block.index}
                out.append(("content_block_stop", stop))
            case ChoiceEnd():
                self._stop_reason = STOP_REASONS[event.finish_reason]
            case AudioDelta():
                # Messages has no audio output: its decoder asks for text only, so no
                # backend sends any and nothing is lost here.
                pass
            case _:
                assert_never(event)
        return out

    def _holds_result(self, part: int) -> bool:
        block = self._blocks.get(part)
        return block is not None and block.kind is PartKind.BUILTIN_RESULT

    def _result(self, block: _Block, event: PartDelta | PartEnd) -> list[StreamEvent]:
        if isinstance(event, PartDelta):
            block.text.append(event.text)
            return []
        self._searches.append(block.status)
        content = web_search.result_block(block.call_id, "".join(block.text), block.status)
        start = {"type": "content_block_start", "index": block.index, "content_block": content}
        stop = {"type": "content_block_stop", "index": block.index}
        return [("content_block_start", start), ("content_block_stop", stop)]

    def _open(self, event: PartStart) -> StreamEvent:
        block = _Block(len(self._blocks), event.kind)
        self._blocks[event.part] = block
        if event.kind is PartKind.TEXT:
            content: dict[str, Any] = {"type": "text", "text": ""}
        elif event.kind is PartKind.REASONING:
            content = {"type": "thinking", "thinking": "", "signature": ""}
        elif event.kind is PartKind.BUILTIN_CALL:
            # its input streams as input_json_delta, as a tool_use block's does
            content = web_search.call_block(event.tool_call_id or "", {})
        else:
            content = {
                "type": "tool_use",
                "id": event.tool_call_id,
                "name": event.tool_name,
                "input": {},
            }
        start = {"type": "content_block_start", "index": block.index, "content_block": content}
        return ("content_block_start", start)

    @staticmethod
    def _delta(index: int, delta: dict[str, Any]) -> dict[str, Any]:
        return {"type": "content_block_delta", "index": index, "delta": delta}

    def finish(self) -> list[StreamEvent]:
        out = self._start()
        out.append(
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {
                        "stop_reason": self._stop_reason or "end_turn",
                        "stop_sequence": None,
                    },
                    "usage": usage_body(self._usage, self._searches),
                },
            )
        )
        out.append(("message_stop", {"type": "message_stop"}))
        return out
