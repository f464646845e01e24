"""`OutputParser`: the parsers one model's output needs, composed.

The think parser goes first (when the model reasons); the answer text it lets through then
goes through the tool-call parser of the model's format (when tools may be called).
Reasoning never goes through the tool-call parser.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from openscope.core.request import ToolSpec
from openscope.parsing.hermes import HermesToolParser
from openscope.parsing.qwen3_coder import Qwen3CoderToolParser
from openscope.parsing.segments import Segment, TextChunk
from openscope.parsing.think import ThinkParser
from openscope.parsing.tool_blocks import ToolBlockParser

ToolFormat = Literal["hermes", "qwen3_coder"]


class OutputParser:
    def __init__(
        self,
        *,
        reasoning: bool,
        start_in_reasoning: bool = False,
        tool_format: ToolFormat | None,
        tools: Sequence[ToolSpec] = (),
    ) -> None:
        self._think = ThinkParser(start_in_reasoning) if reasoning else None
        self._tools: ToolBlockParser | None
        if tool_format == "hermes":
            self._tools = HermesToolParser()
        elif tool_format == "qwen3_coder":
            self._tools = Qwen3CoderToolParser(tools)
        elif tool_format is None:
            self._tools = None
        else:
            raise ValueError(f"unknown tool-call format {tool_format!r}")

    @property
    def in_reasoning(self) -> bool:
        """True while the model is inside its think block."""
        return self._think is not None and self._think.in_reasoning

    def feed(self, text: str) -> list[Segment]:
        if self._think is None:
            return self._answer([TextChunk(text)])
        return self._answer(self._think.feed(text))

    def flush(self) -> list[Segment]:
        """Everything held back, once the stream has ended."""
        out = self._answer(self._think.flush()) if self._think is not None else []
        if self._tools is not None:
            out += self._tools.flush()
        return out

    def _answer(self, segments: list[Segment]) -> list[Segment]:
        out: list[Segment] = []
        for segment in segments:
            if not isinstance(segment, TextChunk):
                out.append(segment)
            elif self._tools is not None:
                out += self._tools.feed(segment.text)
            elif segment.text:
                out.append(segment)
        return out
