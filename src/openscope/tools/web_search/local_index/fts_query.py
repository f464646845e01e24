"""User text to an FTS5 MATCH expression that can only ever mean "these words".

FTS5's query language gives meaning to `"`, `*`, `^`, `:`, `(`, `)`, `{`, `}`, `+`, `-` and to
the bare words AND, OR, NOT and NEAR. The text is cut into word tokens (`\\w+`, so none of
those characters survives), and each is put inside double quotes, where FTS5 reads it as a
plain string: `NEAR` or `title` are then words to find, never an operator or a column. The
words are OR-ed: a web query is often a sentence, and bm25 ranks documents that match more of
its words first, so requiring all of them would lose good matches for one missing word."""

from __future__ import annotations

import re

# More terms than this add nothing to the ranking but cost.
MAX_TERMS = 32
_WORD = re.compile(r"\w+")


def match_expression(text: str) -> str | None:
    """The MATCH expression for `text`, or None when it has no word to search for."""
    terms = list(dict.fromkeys(word.lower() for word in _WORD.findall(text)))[:MAX_TERMS]
    if not terms:
        return None
    return " OR ".join(f'"{term}"' for term in terms)
