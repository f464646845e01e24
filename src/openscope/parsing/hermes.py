"""Hermes-style tool calls (Qwen2.5, Qwen3).

    <tool_call>
    {"name": "get_weather", "arguments": {"city": "Paris"}}
    </tool_call>

The body is read as JSON character by character. `ToolCallBegin` goes out as soon as the
name is known; the arguments value then streams as it arrives: an object's raw text, or the
decoded content of a JSON string. When the arguments come before the name, the call goes out
whole at the end of the block. A missing (or `null`) arguments value is `{}`; `"parameters"`
is accepted for `"arguments"`; other keys are ignored. Raw control characters inside JSON
strings (models write literal newlines into code) are escaped on the way through, and lone
surrogate escapes in decoded text become U+FFFD.

A body that is malformed before its call began falls back to text (see `tool_blocks`). One
that goes wrong after `ToolCallBegin` (bad JSON later on, a missing `</tool_call>` at the
end of the stream) still ends with `ToolCallEnd`: the arguments are what had been streamed
by then (`{}` if nothing had), and the rest of the body is dropped. Its arguments text may
then not be valid JSON; parsers cannot take back what they have already sent.
"""

from __future__ import annotations

import json
from enum import Enum

from openscope.parsing.segments import Segment, ToolCallArguments, ToolCallBegin, ToolCallEnd
from openscope.parsing.tool_blocks import ToolBlockParser

_SPACE = " \t\r\n"
_ARGUMENT_KEYS = ("arguments", "parameters")
_HIGH = ("d8", "d9", "da", "db")  # the first hex digits of a high surrogate
# What `json.loads` raises on model text it cannot take: invalid JSON, or JSON nested past
# the interpreter's stack (a model can write a thousand brackets). Both mean malformed.
_MALFORMED = (ValueError, RecursionError)


class HermesToolParser(ToolBlockParser):
    def __init__(self) -> None:
        super().__init__(_HermesBody)


class _JsonValue:
    """The raw text of one JSON value, taken character by character until it ends."""

    def __init__(self) -> None:
        self.kind = ""  # the first character: `"`, `{`, `[`, or that of a scalar
        self.done = False
        self._chars: list[str] = []
        self._taken = 0
        self._depth = 0
        self._in_string = False
        self._escape = False
        self._scalar = False

    @property
    def text(self) -> str:
        return "".join(self._chars)

    def take(self) -> str:
        """The text pushed since the last `take`."""
        new = "".join(self._chars[self._taken :])
        self._taken = len(self._chars)
        return new

    def push(self, ch: str) -> bool:
        """Take `ch`; False if the value (a scalar) had already ended before it."""
        if not self._chars:
            self.kind = ch
            self._in_string = ch == '"'
            self._depth = 1 if ch in "{[" else 0
            self._scalar = not (self._in_string or self._depth)
        elif self._scalar:
            if ch in ",}]" + _SPACE:
                self.done = True
                return False
        elif self._in_string:
            if self._escape:
                self._escape = False
            elif ch == "\\":
                self._escape = True
            elif ch == '"':
                self._in_string = False
                self.done = self._depth == 0
            elif ch < " ":  # a raw control character (often a newline in code): escaped
                ch = json.dumps(ch)[1:-1]
        elif ch == '"':
            self._in_string = True
        elif ch in "{[":
            self._depth += 1
        elif ch in "}]":
            self._depth -= 1
            self.done = self._depth == 0
        self._chars.append(ch)
        return True


def complete_escapes(raw: str) -> str:
    """`raw` (the content of a JSON string) cut before a trailing escape still incomplete,
    including a `\\uD8xx` high surrogate still waiting for its pair."""
    i, size = 0, len(raw)
    while i < size:
        if raw[i] != "\\":
            i += 1
        elif i + 1 >= size or (raw[i + 1] == "u" and i + 6 > size):
            return raw[:i]
        elif raw[i + 1] != "u":
            i += 2
        else:
            rest = raw[i + 6 : i + 12]
            if raw[i + 2 : i + 4].lower() in _HIGH and len(rest) < 6 and "\\u".startswith(rest[:2]):
                return raw[:i]
            i += 6
    return raw


class _State(Enum):
    OPEN = "{"  # before the object
    FIRST_KEY = "first key"  # after `{`: a key or `}`
    KEY_START = "key start"  # after `,`
    KEY = "key"
    COLON = ":"
    VALUE_START = "value start"
    VALUE = "value"
    AFTER_VALUE = "after value"  # `,` or `}`
    DONE = "done"  # after the object: only whitespace


class _HermesBody:
    def __init__(self) -> None:
        self._state = _State.OPEN
        self._value = _JsonValue()
        self._key = ""
        self._role = "skip"  # what the current value is: "name", "arguments" or "skip"
        self._name: str | None = None
        self._arguments: str | None = None  # complete arguments text, once known
        self._carry = ""  # string arguments: raw text not decoded yet (an escape's start)
        self._broken = False  # string arguments with an invalid escape: stop streaming
        self._streamed = False  # any arguments text sent
        self._started = False
        self._failed = False

    @property
    def started(self) -> bool:
        return self._started

    @property
    def failed(self) -> bool:
        return self._failed

    def feed(self, text: str) -> list[Segment]:
        out: list[Segment] = []
        for ch in text:
            if self._failed:
                break
            self._step(ch, out)
        if self._state is _State.VALUE and self._role == "arguments" and self._started:
            self._stream(out)
        return out

    def close(self) -> list[Segment] | None:
        out: list[Segment] = []
        name = self._name
        if not self._started and not self._failed and self._state is _State.DONE and name:
            # Complete and valid (a missing `</tool_call>` at the very end is forgiven).
            out += [ToolCallBegin(name), ToolCallArguments(self._arguments or "{}")]
            self._started = self._streamed = True
        if not self._started:
            return None
        if not self._streamed:
            out.append(ToolCallArguments("{}"))
        out.append(ToolCallEnd())
        return out

    def _step(self, ch: str, out: list[Segment]) -> None:
        state = self._state
        if state is _State.VALUE or state is _State.KEY:
            if self._value.push(ch):
                if self._value.done and state is _State.KEY:
                    self._end_key()
                elif self._value.done:
                    self._end_value(out)
                return
            self._end_value(out)  # a scalar ended at `ch`, which is read again below
            if self._failed:
                return
            state = self._state
        if ch in _SPACE:
            return
        if state is _State.OPEN and ch == "{":
            self._state = _State.FIRST_KEY
        elif state is _State.FIRST_KEY and ch == "}":
            self._state = _State.DONE
        elif state in (_State.FIRST_KEY, _State.KEY_START) and ch == '"':
            self._state, self._value = _State.KEY, _JsonValue()
            self._value.push(ch)
        elif state is _State.COLON and ch == ":":
            self._state = _State.VALUE_START
        elif state is _State.VALUE_START:
            self._start_value(ch)
        elif state is _State.AFTER_VALUE and ch in ",}":
            self._state = _State.KEY_START if ch == "," else _State.DONE
        else:
            self._failed = True

    def _end_key(self) -> None:
        try:
            self._key = json.loads(self._value.text)
        except _MALFORMED:
            self._failed = True
        self._state = _State.COLON

    def _start_value(self, ch: str) -> None:
        self._state, self._value, self._carry = _State.VALUE, _JsonValue(), ""
        self._broken = False
        self._value.push(ch)
        if ch == '"':
            self._value.take()  # a string's content streams without its quotes
        if self._key == "name" and self._name is None:
            self._role = "name"
        elif self._key in _ARGUMENT_KEYS and self._arguments is None:
            self._role = "arguments"
        else:
            self._role = "skip"

    def _end_value(self, out: list[Segment]) -> None:
        self._state = _State.AFTER_VALUE
        if self._role == "skip":
            return
        try:
            value = json.loads(self._value.text)
        except _MALFORMED:
            if self._role == "arguments" and self._started:
                self._stream(out)  # all of it, however the text was split
            self._failed = True
            return
        if self._role == "name":
            if not isinstance(value, str) or not value:
                self._failed = True
                return
            self._name = _clean(value)
            if self._arguments is None:
                self._started = True
                out.append(ToolCallBegin(self._name))
            # else the arguments came first: the whole call goes out at the close
        elif self._started:
            self._stream(out)
            self._arguments = ""
        elif isinstance(value, str):
            self._arguments = _clean(value)
        else:
            self._arguments = "{}" if value is None else self._value.text

    def _stream(self, out: list[Segment]) -> None:
        """Send the arguments value's text that arrived since the last call."""
        value = self._value
        if value.kind == '"':
            if self._broken:
                return
            raw = self._carry + value.take()
            new = raw[:-1] if value.done else complete_escapes(raw)  # [:-1]: the closing `"`
            self._carry = raw[len(new) :]
            piece = _decode(new)
            if piece is None:  # an invalid escape: stream up to it, the value's end fails
                self._broken = True
                error_at = ('"' + new).rfind("\\", 0, _error_at('"' + new + '"') + 1)
                piece = _decode(new[: max(error_at - 1, 0)]) or ""
        elif value.kind in ("{", "["):
            piece = value.take()
        elif value.done:
            piece = "{}" if value.text == "null" else value.text
        else:
            return  # a scalar goes out whole
        if piece:
            self._streamed = True
            out.append(ToolCallArguments(piece))


def _clean(text: str) -> str:
    """`text` with lone surrogates (from escapes like `\\ud83d` alone) replaced by U+FFFD."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _decode(content: str) -> str | None:
    """The JSON string content decoded, or None if it has an invalid escape."""
    try:
        return _clean(json.loads('"' + content + '"'))
    except _MALFORMED:
        return None


def _error_at(document: str) -> int:
    try:
        json.loads(document)
    except json.JSONDecodeError as error:
        return error.pos
    return len(document)
