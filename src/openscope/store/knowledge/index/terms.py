"""The words the keyword index keeps of a text, the same for both indexes and for queries:
lowercased letters and digits, with runs of CJK characters (which have no spaces between
words) cut into overlapping pairs, the usual way to search Chinese without a dictionary."""

from __future__ import annotations

import re

WORD = re.compile(r"[^\W_]+")
CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]+")
# A longest word worth indexing (longer runs are hashes, base64 or noise).
MAX_WORD = 64


def terms(text: str) -> list[str]:
    found: list[str] = []
    for word in WORD.findall(text.lower()):
        at = 0
        for run in CJK.finditer(word):
            _latin(word[at : run.start()], found)
            chars = run.group()
            if len(chars) == 1:
                found.append(chars)
            else:
                found.extend(chars[i : i + 2] for i in range(len(chars) - 1))
            at = run.end()
        _latin(word[at:], found)
    return found


def _latin(word: str, found: list[str]) -> None:
    if word and len(word) <= MAX_WORD:
        found.append(word)
