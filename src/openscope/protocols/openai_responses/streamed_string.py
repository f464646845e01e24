"""One string field of a JSON object that arrives in pieces, decoded as it comes.

A `code_interpreter` call's arguments stream as the model writes them, `{"code": "..."}`
in arbitrary pieces; OpenAI streams the code itself (`response.code_interpreter_call_code
.delta`). `StreamedString("code")` takes the pieces and gives back, each time, the code's
characters that are now certain: an escape split across pieces (`\\`, then `n`), a
`\\uXXXX` cut in its hex digits and a surrogate pair (`\\ud83d\\ude00`) wait for the rest,
so the pieces given back add up to exactly what `json.loads` makes of the whole value
(a lone surrogate included, as `json.loads` keeps it).

Only the key at the object's top level counts (not one inside a nested value, not a value
that reads "code"); a value that is not a string gives nothing. Bad JSON stops the
decoding at the bad character: what was given back stays given.
"""

from __future__ import annotations

import json
from enum import Enum, auto

_ESCAPES = {
    '"': '"',
    "\\": "\\",
    "/": "/",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
}
_WHITESPACE = " \t\r\n"


class _Phase(Enum):
    SEEK = auto()  # looking for the key at the top level
    VALUE = auto()  # inside the key's string value
    DONE = auto()  # the value ended, is not a string, or the JSON went bad


class StreamedString:
    def __init__(self, key: str) -> None:
        self._key = key
        self._text = ""
        self._at = 0  # the next character to read
        self._phase = _Phase.SEEK
        self._depth = 0
        self._in_string = False
        self._escaped = False
        self._string_start = 0
        self._last_key: str | None = None  # the string just closed at the top level
        self._value_next = False  # after `"key":`, the value comes next

    @property
    def done(self) -> bool:
        """The value has ended (or will never come)."""
        return self._phase is _Phase.DONE

    def feed(self, piece: str) -> str:
        """Take the next piece of the JSON text; the value's characters it settled."""
        self._text += piece
        if self._phase is _Phase.SEEK:
            self._seek()
        if self._phase is _Phase.VALUE:
            return self._value()
        return ""

    def _seek(self) -> None:
        text = self._text
        while self._at < len(text):
            char = text[self._at]
            if self._in_string:
                self._read_string_char(char)
            elif self._value_next:
                if char == '"':
                    self._phase = _Phase.VALUE
                    self._at += 1
                    return
                if char not in _WHITESPACE:
                    self._phase = _Phase.DONE  # not a string
                    return
            elif char == '"':
                self._in_string = True
                self._string_start = self._at
            elif char in "{[":
                self._depth += 1
                self._last_key = None
            elif char in "}]":
                self._depth -= 1
                self._last_key = None
            elif char == ":":
                self._value_next = self._depth == 1 and self._last_key == self._key
                self._last_key = None
            elif char == ",":
                self._last_key = None
            self._at += 1

    def _read_string_char(self, char: str) -> None:
        if self._escaped:
            self._escaped = False
        elif char == "\\":
            self._escaped = True
        elif char == '"':
            self._in_string = False
            self._last_key = None
            if self._depth == 1:
                try:
                    self._last_key = json.loads(self._text[self._string_start : self._at + 1])
                except ValueError:
                    self._phase = _Phase.DONE

    def _value(self) -> str:
        text = self._text
        out: list[str] = []
        while self._at < len(text):
            char = text[self._at]
            if char == '"':
                self._phase = _Phase.DONE
                self._at += 1
                break
            if char != "\\":
                out.append(char)
                self._at += 1
                continue
            decoded = self._escape()
            if decoded is None:
                break  # the escape is not whole yet (or the JSON went bad)
            out.append(decoded)
        # What was read is given back: keep only the rest (an escape not yet whole), so a
        # long value costs no more than its length.
        self._text = self._text[self._at :]
        self._at = 0
        return "".join(out)

    def _escape(self) -> str | None:
        """The escape at `_at`, moving past it; None while it is not whole."""
        text, at = self._text, self._at
        if at + 1 >= len(text):
            return None
        kind = text[at + 1]
        if kind != "u":
            decoded = _ESCAPES.get(kind)
            if decoded is None:
                self._phase = _Phase.DONE
                return None
            self._at += 2
            return decoded
        unit = _hex4(text[at + 2 : at + 6])
        if unit is None:
            if len(text) - at < 6 and _could_be_hex(text[at + 2 :]):
                return None
            self._phase = _Phase.DONE
            return None
        if not 0xD800 <= unit <= 0xDBFF:
            self._at += 6
            return chr(unit)
        # A high surrogate: joined with a low one that follows as `\uDCxx`, as json does.
        follow = text[at + 6 : at + 12]
        if len(follow) < 6 and "\\u".startswith(follow[:2]) and _could_be_hex(follow[2:]):
            return None  # what follows may still be the low half
        low = _hex4(follow[2:6]) if follow.startswith("\\u") else None
        if low is not None and 0xDC00 <= low <= 0xDFFF:
            self._at += 12
            return chr(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))
        self._at += 6
        return chr(unit)  # a lone surrogate, kept as json.loads keeps it


def _hex4(digits: str) -> int | None:
    if len(digits) != 4 or not _could_be_hex(digits):
        return None
    return int(digits, 16)


def _could_be_hex(digits: str) -> bool:
    return all(d in "0123456789abcdefABCDEF" for d in digits)
