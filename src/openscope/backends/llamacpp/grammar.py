"""Grammars that constrain what the model may generate (llama.cpp GBNF)."""

from __future__ import annotations

from openscope.core.request import ResponseFormat, ResponseFormatType


def grammar_for(response_format: ResponseFormat) -> str | None:
    """The GBNF that forces `response_format`, or None for free text."""
    if response_format.type is ResponseFormatType.JSON_OBJECT:
        from llama_cpp.llama_grammar import JSON_GBNF  # a JSON object at the root

        grammar: str = JSON_GBNF
        return grammar
    return None
