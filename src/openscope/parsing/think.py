"""`<think>` ... `</think>` reasoning, split from the answer as text arrives.

A think block is recognised only at the start of the output (after optional whitespace);
later `<think>` tags are answer text. With `start_in_reasoning=True` (templates that open
the block in the prompt) the output starts inside the block and only `</think>` is looked
for. Whitespace at both ends of the reasoning and right after `</think>` (the "\\n\\n" Qwen
templates put there) is dropped, so an empty think block yields no reasoning at all.
Text that might be the start of a tag is held back until the next piece decides it.
"""

from __future__ import annotations

from enum import Enum

from openscope.parsing.segments import ReasoningChunk, Segment, TextChunk
from openscope.parsing.tool_blocks import partial_tag_length

OPEN = "<think>"
CLOSE = "</think>"


class _State(Enum):
    START = "start"  # nothing but whitespace yet: a think block may still open
    REASONING = "reasoning"
    ANSWER = "answer"


class ThinkParser:
    def __init__(self, start_in_reasoning: bool = False) -> None:
        self._state = _State.REASONING if start_in_reasoning else _State.START
        self._held = ""  # a possible tag start (or, at the start, leading whitespace)
        self._space = ""  # trailing reasoning whitespace, dropped if `</think>` follows
        self._strip = True  # drop leading whitespace of what comes next

    @property
    def in_reasoning(self) -> bool:
        return self._state is _State.REASONING

    def feed(self, text: str) -> list[Segment]:
        buffer, self._held = self._held + text, ""
        out: list[Segment] = []
        if self._state is _State.START:
            rest = buffer.lstrip()
            if rest.startswith(OPEN):
                self._state = _State.REASONING
                buffer = rest[len(OPEN) :]
            elif OPEN.startswith(rest):  # still undecided (this includes all-whitespace)
                self._held = buffer
                return out
            else:
                self._state, self._strip = _State.ANSWER, False
        if self._state is _State.REASONING:
            buffer = self._reasoning(buffer, out)
        if self._state is _State.ANSWER:
            self._answer(buffer, out)
        return out

    def flush(self) -> list[Segment]:
        """The held-back text, once the stream has ended."""
        held, self._held = self._held, ""
        out: list[Segment] = []
        if self._state is _State.REASONING:
            # An unclosed block (the budget or max_tokens ran out): all of it was reasoning.
            self._emit_reasoning(held.rstrip(), out)
        elif self._state is _State.START:
            self._state, self._strip = _State.ANSWER, False
            self._answer(held, out)
        self._space = ""
        return out

    def _reasoning(self, buffer: str, out: list[Segment]) -> str:
        """Consume reasoning text; return what follows `</think>`, if it came."""
        at = buffer.find(CLOSE)
        if at != -1:
            self._emit_reasoning(buffer[:at].rstrip(), out)
            self._space = ""
            self._state, self._strip = _State.ANSWER, True
            return buffer[at + len(CLOSE) :]
        keep = partial_tag_length(buffer, CLOSE)
        if keep:
            buffer, self._held = buffer[:-keep], buffer[-keep:]
        text = buffer.rstrip()
        self._emit_reasoning(text, out)
        if not self._strip:
            self._space += buffer[len(text) :]
        return ""

    def _emit_reasoning(self, text: str, out: list[Segment]) -> None:
        """Emit `text` (which has no trailing whitespace) after the pending whitespace."""
        if self._strip:
            self._space, text = "", text.lstrip()
        if text:
            out.append(ReasoningChunk(self._space + text))
            self._space, self._strip = "", False

    def _answer(self, text: str, out: list[Segment]) -> None:
        if self._strip:
            text = text.lstrip()
        if text:
            self._strip = False
            out.append(TextChunk(text))
