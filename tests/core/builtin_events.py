"""The events of an answer that ran a built-in web search, then answered: shared by the
core's and the protocols' tests of built-in tool parts."""

from __future__ import annotations

from openscope.core.builtin_tools import BuiltinToolKind
from openscope.core.events import (
    ChoiceEnd,
    Event,
    FinishReason,
    PartDelta,
    PartEnd,
    PartKind,
    PartStart,
)

SEARCH = BuiltinToolKind.WEB_SEARCH
ARGUMENTS = '{"query": "weather"}'
OUTPUT = '{"sources": ["https://example.com"]}'


def searched_then_answered() -> list[Event]:
    return [
        PartStart(0, 0, PartKind.BUILTIN_CALL, tool_call_id="ws_1", tool_name=SEARCH),
        PartDelta(0, 0, ARGUMENTS[:10]),
        PartDelta(0, 0, ARGUMENTS[10:]),
        PartEnd(0, 0),
        PartStart(0, 1, PartKind.BUILTIN_RESULT, tool_call_id="ws_1", tool_name=SEARCH),
        PartDelta(0, 1, OUTPUT),
        PartEnd(0, 1),
        PartStart(0, 2, PartKind.TEXT),
        PartDelta(0, 2, "Sunny."),
        PartEnd(0, 2),
        ChoiceEnd(0, FinishReason.STOP),
    ]
