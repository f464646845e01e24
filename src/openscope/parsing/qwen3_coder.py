"""Qwen3-Coder tool calls: XML-ish blocks with raw-text parameter values.

    <tool_call>
    <function=NAME>
    <parameter=ARG>
    value
    </parameter>
    </function>
    </tool_call>

`ToolCallBegin(NAME)` and `{` go out at `<function=NAME>`; each parameter goes out as
`"ARG": <json value>` once complete (joined with ", "), converted with the type the tool's
JSON schema gives it (see `convert_value`); `}` and `ToolCallEnd` at `</function>`. The
arguments text is therefore always a JSON object. Lenient where the model is sloppy: a
missing `</parameter>` ends at the next `<parameter=` or `</function>`, a missing
`</function>` at `</tool_call>` or the end of the stream, and stray text between parameters
is ignored. A body malformed before `<function=NAME>` is complete falls back to text.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Any

from openscope.core.limits import MAX_NESTING, nesting_exceeds
from openscope.core.request import ToolSpec
from openscope.parsing.segments import Segment, ToolCallArguments, ToolCallBegin, ToolCallEnd
from openscope.parsing.tool_blocks import ToolBlockParser, partial_tag_length

FUNCTION = "<function="
FUNCTION_END = "</function>"
PARAMETER = "<parameter="
PARAMETER_END = "</parameter>"
_MAX_NAME = 256  # a longer name (or one with a newline or `<`) means the tag is not one


class Qwen3CoderToolParser(ToolBlockParser):
    def __init__(self, tools: Sequence[ToolSpec]) -> None:
        properties: dict[str, Mapping[str, Any]] = {}
        for tool in tools:
            props = tool.parameters.get("properties")
            properties[tool.name] = props if isinstance(props, Mapping) else {}
        super().__init__(lambda: _CoderBody(properties))


def convert_value(raw: str, schema: Any) -> Any:
    """A parameter's raw text as the type its JSON schema gives (first type that fits).

    A string keeps its text minus one leading and one trailing newline; integer and number
    are JSON numbers; boolean is true/false (any case); object, array and null are parsed as
    JSON nested at most `MAX_NESTING` levels. Text that fits none of the types, or a
    parameter without a type (or unknown to the schema), stays a string.
    """
    text = raw[1:] if raw.startswith("\n") else raw
    text = text[:-1] if text.endswith("\n") else text
    types = _types(schema)
    bare = text.strip()
    if bare == "null" and types and ("null" in types or "string" not in types):
        return None
    for kind in types:
        fits, value = _as(kind, text, bare)
        if fits:
            return value
    return text


def _as(kind: str, text: str, bare: str) -> tuple[bool, Any]:
    """Whether the text fits the JSON type `kind`, and as what value."""
    if kind == "string":
        return True, text
    if kind == "boolean":
        return bare.lower() in ("true", "false"), bare.lower() == "true"
    if kind not in ("integer", "number", "object", "array"):
        return False, None
    try:
        value = json.loads(bare, parse_constant=_refuse)  # NaN and Infinity are not JSON
    except (ValueError, RecursionError):  # RecursionError: nested past the interpreter's stack
        return False, None
    if nesting_exceeds(value, MAX_NESTING):
        # Too deep to be sent back in a request, and re-encoding it could exhaust the stack:
        # it stays text, as invalid JSON does.
        return False, None
    if kind == "object":
        return isinstance(value, dict), value
    if kind == "array":
        return isinstance(value, list), value
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return False, None
    if kind == "number":
        return True, value
    return isinstance(value, int) or value.is_integer(), int(value)


def _refuse(constant: str) -> Any:
    raise ValueError(constant)


def _types(schema: Any) -> list[str]:
    if not isinstance(schema, Mapping):
        return []
    declared = schema.get("type")
    if isinstance(declared, str):
        return [declared]
    if isinstance(declared, list):
        return [t for t in declared if isinstance(t, str)]
    types: list[str] = []
    for key in ("anyOf", "oneOf"):
        for option in schema.get(key) or ():
            types.extend(t for t in _types(option) if t not in types)
    return types


class _State(Enum):
    FUNCTION = "function"  # waiting for `<function=`
    FUNCTION_NAME = "function name"
    BETWEEN = "between"  # inside a function: `<parameter=` or `</function>`
    PARAMETER_NAME = "parameter name"
    VALUE = "value"


class _CoderBody:
    def __init__(self, properties: Mapping[str, Mapping[str, Any]]) -> None:
        self._properties = properties
        self._schema: Mapping[str, Any] = {}  # the open function's parameter schemas
        self._state = _State.FUNCTION
        self._buffer = ""
        self._scanned = 0  # how much of a value's buffer was searched for its end already
        self._parameter = ""
        self._count = 0  # parameters sent in the open call
        self._open = False  # a call has begun and not ended
        self._started = False
        self._failed = False

    @property
    def started(self) -> bool:
        return self._started

    @property
    def failed(self) -> bool:
        return self._failed

    def feed(self, text: str) -> list[Segment]:
        self._buffer += text
        out: list[Segment] = []
        while not self._failed and self._step(out):
            pass
        return out

    def close(self) -> list[Segment] | None:
        if not self._started:
            return None
        out: list[Segment] = []
        if self._open:
            if self._state is _State.VALUE:
                out.append(self._argument(self._buffer))
            out += [ToolCallArguments("}"), ToolCallEnd()]
            self._open = False
        return out

    def _step(self, out: list[Segment]) -> bool:
        """Consume what the buffer allows; False when it needs more text."""
        buffer = self._buffer
        if self._state is _State.FUNCTION:
            rest = buffer.lstrip() if not self._started else buffer
            at = rest.find(FUNCTION)
            if at == -1 or (at and not self._started):
                # Before the first call only whitespace may precede `<function=`; after
                # a call, anything else is ignored.
                if not self._started and not FUNCTION.startswith(rest):
                    self._failed = True
                keep = len(rest) if not self._started else partial_tag_length(rest, FUNCTION)
                self._buffer = rest[len(rest) - keep :]
                return False
            self._buffer, self._state = rest[at + len(FUNCTION) :], _State.FUNCTION_NAME
        elif self._state in (_State.FUNCTION_NAME, _State.PARAMETER_NAME):
            at = buffer.find(">")
            raw = buffer[:at] if at != -1 else buffer
            name = raw.strip()
            if "\n" in raw or "<" in raw or len(raw) > _MAX_NAME or (at != -1 and not name):
                self._failed = True
            if at == -1 or self._failed:
                return False
            self._buffer = buffer[at + 1 :]
            if self._state is _State.FUNCTION_NAME:
                self._started = self._open = True
                self._schema = self._properties.get(name, {})
                self._count, self._state = 0, _State.BETWEEN
                out += [ToolCallBegin(name), ToolCallArguments("{")]
            else:
                self._parameter, self._state, self._scanned = name, _State.VALUE, 0
        elif self._state is _State.BETWEEN:
            at, tag = _first(buffer, 0, PARAMETER, FUNCTION_END)
            if tag is None:
                self._buffer = buffer[len(buffer) - partial_tag_length(buffer, *_TAGS) :]
                return False
            self._buffer = buffer[at + len(tag) :]
            if tag == PARAMETER:
                self._state = _State.PARAMETER_NAME
            else:
                out += [ToolCallArguments("}"), ToolCallEnd()]
                self._open, self._state = False, _State.FUNCTION
        else:
            start = max(0, self._scanned - len(PARAMETER_END))
            at, tag = _first(buffer, start, PARAMETER_END, PARAMETER, FUNCTION_END)
            if tag is None:
                self._scanned = len(buffer)
                return False
            out.append(self._argument(buffer[:at]))
            # `</parameter>` is consumed; a tag that ended the value implicitly is kept.
            self._buffer = buffer[at + len(tag) :] if tag == PARAMETER_END else buffer[at:]
            self._state = _State.BETWEEN
        return True

    def _argument(self, raw: str) -> ToolCallArguments:
        value = convert_value(raw, self._schema.get(self._parameter))
        key = json.dumps(self._parameter, ensure_ascii=False)
        separator = ", " if self._count else ""
        self._count += 1
        return ToolCallArguments(f"{separator}{key}: {json.dumps(value, ensure_ascii=False)}")


_TAGS = (PARAMETER, FUNCTION_END)


def _first(buffer: str, start: int, *tags: str) -> tuple[int, str | None]:
    """The earliest of `tags` in `buffer` from `start`, and which one it is."""
    best: tuple[int, str | None] = (-1, None)
    for tag in tags:
        at = buffer.find(tag, start)
        if at != -1 and (best[1] is None or at < best[0]):
            best = (at, tag)
    return best
