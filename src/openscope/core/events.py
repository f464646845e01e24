"""The canonical event stream every backend produces and every protocol encodes.

A generation is a sequence of choices (`n` of them); each choice is a sequence of parts.
A part opens with `PartStart`, grows by `PartDelta`s and closes with `PartEnd`. A choice
ends with `ChoiceEnd`. `UsageReport`s carry the totals so far: a backend sends one as soon
as the prompt is read (so encoders that announce input tokens up front can) and one at the
end; the last one is final. Failures are raised as
`OpenScopeError`s from the iterator rather than sent as events, so no consumer can forget
to look for them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from openscope.core.quota import Allowance

if TYPE_CHECKING:  # state builds on these events; the record only names its type here
    from openscope.core.state import StoredResponse


class PartKind(StrEnum):
    TEXT = "text"
    REASONING = "reasoning"
    TOOL_CALL = "tool_call"
    # A built-in tool's call and its result: `tool_call_id` is the call's id and
    # `tool_name` the tool's kind; the deltas are JSON text (arguments, then output).
    BUILTIN_CALL = "builtin_call"
    BUILTIN_RESULT = "builtin_result"


# The parts of a built-in tool's run, which only some APIs show (Responses' `<tool>_call`
# items); the others show only what the model says around them.
BUILTIN_KINDS = frozenset({PartKind.BUILTIN_CALL, PartKind.BUILTIN_RESULT})


class FinishReason(StrEnum):
    STOP = "stop"  # natural end or a stop sequence
    LENGTH = "length"  # max_tokens or the context window ran out
    TOOL_CALLS = "tool_calls"
    CONTENT_FILTER = "content_filter"


@dataclass(frozen=True, slots=True)
class TopLogprob:
    token: str
    logprob: float
    bytes: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class TokenLogprob:
    token: str
    logprob: float
    bytes: tuple[int, ...]
    top: tuple[TopLogprob, ...] = ()


@dataclass(frozen=True, slots=True)
class PartStart:
    choice: int
    part: int
    kind: PartKind
    tool_call_id: str | None = None
    tool_name: str | None = None
    # A built-in tool's result: "completed" or "failed" (None: "completed"); the tool loop
    # knows it before the result's first delta.
    status: str | None = None


@dataclass(frozen=True, slots=True)
class PartDelta:
    """More of a part: text, reasoning text, or a slice of a tool call's JSON arguments."""

    choice: int
    part: int
    text: str
    logprobs: tuple[TokenLogprob, ...] = ()


@dataclass(frozen=True, slots=True)
class AudioDelta:
    """More of a choice's spoken answer: `data`, base64 of the next bytes of the audio (not
    necessarily whole 3-byte groups: decode each delta on its own), and `transcript`, more
    of what it says. `id` and `expires_at` name the audio as the model's service does
    (None until it says). A choice has at most one audio, beside its parts."""

    choice: int
    data: str = ""
    transcript: str = ""
    id: str | None = None
    expires_at: int | None = None


@dataclass(frozen=True, slots=True)
class PartEnd:
    choice: int
    part: int
    signature: str | None = None  # reasoning parts may be signed when they close


@dataclass(frozen=True, slots=True)
class ChoiceEnd:
    choice: int
    finish_reason: FinishReason
    stop_sequence: str | None = None


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0  # input tokens read from a cache (counted inside input_tokens)
    cache_creation_tokens: int = 0  # input tokens written to an explicit/session cache
    reasoning_tokens: int = 0  # output tokens spent thinking (counted inside output_tokens)
    input_audio_tokens: int = 0  # input tokens that were audio (inside input_tokens)
    output_audio_tokens: int = 0  # output tokens spoken (inside output_tokens)
    cache_type: str | None = None  # "ephemeral" when explicit or session cache was asked for

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        """The usage of two calls of one answer together (a tool loop's rounds); the later
        call's cache type wins."""
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cached_tokens=self.cached_tokens + other.cached_tokens,
            cache_creation_tokens=self.cache_creation_tokens + other.cache_creation_tokens,
            reasoning_tokens=self.reasoning_tokens + other.reasoning_tokens,
            input_audio_tokens=self.input_audio_tokens + other.input_audio_tokens,
            output_audio_tokens=self.output_audio_tokens + other.output_audio_tokens,
            cache_type=other.cache_type or self.cache_type,
        )


@dataclass(frozen=True, slots=True)
class UsageReport:
    usage: Usage = field(default_factory=Usage)


@dataclass(frozen=True, slots=True)
class TurnRecorded:
    """A Responses turn has been kept (stored, or appended to its conversation): the last
    event of a turn's stream, carrying the record as it was kept, the failed one included
    (then sent just before the failure is raised). Protocols without stored turns ignore
    it."""

    record: StoredResponse


@dataclass(frozen=True, slots=True)
class LimitsChecked:
    """The rate limits admitted the call, and this is what the tightest of them has left:
    the first event of a call any limit applies to. The route runner turns it into the
    rate-limit headers; encoders and folders pass over it."""

    requests: Allowance | None = None
    tokens: Allowance | None = None


Event = (
    PartStart
    | PartDelta
    | PartEnd
    | AudioDelta
    | ChoiceEnd
    | UsageReport
    | TurnRecorded
    | LimitsChecked
)
