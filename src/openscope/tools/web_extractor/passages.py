"""Deterministic "Evidence" and "Summary" for a page and a goal, taken from the page's text.

Model Studio has a model write these; here no model runs, so nothing is written, only chosen:

- Evidence: the page's markdown blocks (paragraphs, list runs, headings, split at blank lines)
  that share the most words with the goal, each word weighted by how rare it is on the page
  (inverse block frequency), best first until the character budget is spent, then put back in
  page order with the heading each one sits under. When no block shares a word with the goal
  (or the goal has no words), the evidence is the page's opening blocks.
- Summary: the page's title and lead (its first non-heading block), cut at a sentence end
  within the budget.

Words: lower-cased `\\w+` runs without a short English stop-word list, with a plural "s"
dropped; runs of CJK characters (no spaces between words) become overlapping character pairs,
so a Chinese goal matches Chinese text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

_WORD = re.compile(r"\w+")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]+")
# A full stop, "!" or "?" before a space or the end; CJK ones (\u3002 \uff01 \uff1f) anywhere.
_SENTENCE_END = re.compile(r"[.!?\u3002\uff01\uff1f](?=\s|$)|[\u3002\uff01\uff1f]")
_STOP_WORDS_TEXT = (
    "a an and are as at be by can do does for from has have how i in is it its me my of on"
    " or our please that the their them these this those to was were what when where which"
    " who why will with you your about into than then there find extract get give"
    " information key list page show tell"
)
_STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())
ELLIPSIS = "…"


def terms(text: str) -> set[str]:
    """The matching words of a text (see the module docstring)."""
    found: set[str] = set()
    for word in _WORD.findall(text.lower()):
        for run in _CJK.findall(word):
            found.update(run[i : i + 2] for i in range(max(1, len(run) - 1)))
        rest = _CJK.sub(" ", word).split()
        for token in rest:
            if len(token) < 2 or token in _STOP_WORDS:
                continue
            if len(token) > 3 and token.endswith("s") and not token.endswith("ss"):
                token = token[:-1]
            found.add(token)
    return found


@dataclass(frozen=True)
class Block:
    index: int
    text: str
    heading: int | None  # index of the heading block this one sits under

    @property
    def is_heading(self) -> bool:
        return self.text.startswith("#")


def blocks(markdown: str) -> list[Block]:
    """The markdown split at blank lines, each block knowing its nearest heading above."""
    result: list[Block] = []
    heading: int | None = None
    for text in re.split(r"\n\s*\n", markdown):
        text = text.strip()
        if not text:
            continue
        block = Block(len(result), text, heading)
        result.append(block)
        if block.is_heading:
            heading = block.index
    return result


def clip(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters at a word boundary, marked with an ellipsis."""
    if len(text) <= limit:
        return text
    if limit <= len(ELLIPSIS):
        return text[:limit]
    cut = text[: limit - len(ELLIPSIS)]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip() + ELLIPSIS


def _ranked(page: Sequence[Block], goal: str) -> list[Block]:
    """Blocks sharing a word with the goal, best match first (ties: earlier first)."""
    wanted = terms(goal)
    if not wanted:
        return []
    block_terms = [terms(block.text) for block in page]
    count = len(page)
    weight = {
        term: math.log(1 + count / sum(term in bt for bt in block_terms))
        for term in wanted
        if any(term in bt for bt in block_terms)
    }
    scored = [
        (sum(weight.get(term, 0.0) for term in wanted & bt), block)
        for bt, block in zip(block_terms, page, strict=True)
    ]
    return [block for score, block in sorted(scored, key=lambda s: (-s[0], s[1].index)) if score]


def evidence(markdown: str, goal: str, budget: int) -> str:
    """The passages of `markdown` that best match `goal`, at most `budget` characters."""
    page = blocks(markdown)
    if budget <= 0 or not page:
        return ""
    chosen: dict[int, Block] = {}
    used = 0
    separator = len("\n\n")

    def take(candidates: Sequence[Block], contiguous: bool) -> None:
        nonlocal used
        for block in candidates:
            needed = [b for b in _with_heading(page, block) if b.index not in chosen]
            cost = sum(len(b.text) + separator for b in needed)
            if used + cost > budget + separator:  # the last block has no separator after it
                if contiguous:
                    return
                continue  # a shorter, lower-ranked block may still fit
            chosen.update((b.index, b) for b in needed)
            used += cost

    ranked = _ranked(page, goal)
    candidates = ranked or page
    take(candidates, contiguous=not ranked)
    if not ranked:  # the opening: a heading whose text did not fit is dropped
        while chosen and chosen[max(chosen)].is_heading and len(chosen) > 1:
            del chosen[max(chosen)]
    if not chosen:  # even the first candidate alone is too long: its start, cut to fit
        return clip(candidates[0].text, budget)
    return "\n\n".join(chosen[i].text for i in sorted(chosen))


def _with_heading(page: Sequence[Block], block: Block) -> list[Block]:
    if block.heading is None or block.is_heading:
        return [block]
    return [page[block.heading], block]


def summary(title: str | None, markdown: str, budget: int) -> str:
    """The title and the page's lead, ending at a sentence end within `budget` characters."""
    lead = next((b.text for b in blocks(markdown) if not b.is_heading), "")
    text = f"{title.rstrip(' .:')}: {lead}" if title and lead else (title or lead)
    text = " ".join(text.split())
    if len(text) <= budget:
        return text
    # One character past the budget, so the look-ahead sees what follows a full stop.
    ends = [m.end() for m in _SENTENCE_END.finditer(text[: budget + 1]) if m.end() <= budget]
    if ends and ends[-1] > budget // 3:
        return text[: ends[-1]]
    return clip(text, budget)
