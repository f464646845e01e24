"""The `<tool_call>` ... `</tool_call>` blocks both Qwen tool-call formats share.

`ToolBlockParser` finds the blocks in a text stream and hands each block's body, as it
arrives, to a format-specific `CallBody`. Text outside the blocks passes through as
`TextChunk`s, except whitespace that only separates a call from its neighbours (the newlines
around and between `<tool_call>` blocks), which is dropped. A body that turns out malformed
before its call began falls back to plain text: the raw `<tool_call>...` text is emitted as
a `TextChunk` and scanning goes on after the tag. A call that had already begun is always
finished with a `ToolCallEnd`. The first `</tool_call>` after the opening tag closes the
block, even inside a JSON string.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from openscope.parsing.segments import Segment, TextChunk

OPEN = "<tool_call>"
CLOSE = "</tool_call>"


def partial_tag_length(buffer: str, *tags: str) -> int:
    """Length of the longest suffix of `buffer` that is a proper prefix of one of `tags`."""
    best = 0
    for tag in tags:
        for size in range(min(len(tag) - 1, len(buffer)), best, -1):
            if buffer.endswith(tag[:size]):
                best = size
                break
    return best


class CallBody(Protocol):
    """Parses one block's body; the text it is fed never contains `</tool_call>`."""

    @property
    def started(self) -> bool:
        """True once a `ToolCallBegin` has been emitted (it can no longer become text)."""
        ...

    @property
    def failed(self) -> bool:
        """True once the body is known to be malformed."""
        ...

    def feed(self, text: str) -> list[Segment]: ...

    def close(self) -> list[Segment] | None:
        """The rest of the call at the end of the block (or of the stream); `None` when
        nothing was started and the body is not a valid call, so it is plain text."""
        ...


class ToolBlockParser:
    def __init__(self, new_body: Callable[[], CallBody]) -> None:
        self._new_body = new_body
        self._body: CallBody | None = None
        self._raw = ""  # the open block's body so far, for the text fallback
        self._held = ""  # a possible tag start
        self._space = ""  # trailing whitespace of the text, dropped if a call follows
        self._after_call = False  # drop leading whitespace: a call just ended

    def feed(self, text: str) -> list[Segment]:
        buffer, self._held = self._held + text, ""
        out: list[Segment] = []
        while buffer:
            buffer = self._outside(buffer, out) if self._body is None else self._inside(buffer, out)
        return out

    def flush(self) -> list[Segment]:
        """Everything held back, once the stream has ended."""
        held, self._held = self._held, ""
        out: list[Segment] = []
        if self._body is None:
            self._text(held, out)
        else:
            self._raw += held
            out.extend(self._body.feed(held))
            self._close_block(out, "")
        if self._space:
            out.append(TextChunk(self._space))
            self._space = ""
        return out

    def _outside(self, buffer: str, out: list[Segment]) -> str:
        at = buffer.find(OPEN)
        if at == -1:
            keep = partial_tag_length(buffer, OPEN)
            self._text(buffer[: len(buffer) - keep], out)
            self._held = buffer[len(buffer) - keep :]
            return ""
        self._text(buffer[:at], out)
        self._body, self._raw = self._new_body(), ""
        return buffer[at + len(OPEN) :]

    def _inside(self, buffer: str, out: list[Segment]) -> str:
        body = self._body
        assert body is not None
        at = buffer.find(CLOSE)
        if at == -1:
            keep = partial_tag_length(buffer, CLOSE)
            piece, rest = buffer[: len(buffer) - keep], buffer[len(buffer) - keep :]
        else:
            piece, rest = buffer[:at], buffer[at:]
        self._raw += piece
        out.extend(body.feed(piece))
        if body.started:
            self._space = ""
        elif body.failed:
            # Not a tool call after all: the tag is text, and what followed it is scanned
            # again (it may hold the real call).
            out.append(TextChunk(self._space + OPEN))
            self._space, self._after_call, self._body = "", False, None
            return self._raw + rest
        if at == -1:
            self._held = rest
            return ""
        self._close_block(out, CLOSE)
        return rest[len(CLOSE) :]

    def _close_block(self, out: list[Segment], close_tag: str) -> None:
        assert self._body is not None
        segments = self._body.close()
        self._body = None
        if segments is None:
            out.append(TextChunk(self._space + OPEN + self._raw + close_tag))
            self._space, self._after_call = "", False
        else:
            out.extend(segments)
            self._space, self._after_call = "", True

    def _text(self, text: str, out: list[Segment]) -> None:
        if self._after_call:
            text = text.lstrip()
            if not text:
                return
            self._after_call = False
        body = text.rstrip()
        if body:
            out.append(TextChunk(self._space + body))
            self._space = text[len(body) :]
        else:
            self._space += text
