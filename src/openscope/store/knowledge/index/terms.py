"""The words the keyword index keeps of a text, the same for both indexes and for queries:
lowercased letters and digits, with runs of CJK characters (which have no spaces between
words) cut into overlapping pairs, the usual way to search Chinese without a dictionary."""

from __future__ import annotations

import re

WORD = re.compile(r"[^\W_]+")
CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]+")
# A longest word worth indexing (longer runs are hashes, base64 or noise).
MAX_WORD = 64
# Words a question is made of whatever it asks (English function words, and the
# character pairs of Chinese question words): searched for, they rank every chunk that
# has them, which in hybrid search pushed the vector ranking's answer down for questions
# that share no content word with it (bench/retrieval_quality.py: hybrid recall@5 about
# 0.83 with them, 0.87 without). Left out of queries only: chunks keep them.
_FUNCTION_WORDS = """
    a an the of to in on at for by with from and or but is are was were be been being
    do does did done have has had what which who whom whose when where why how can could
    should would will shall may might must i me my we our you your he she it its they them
    their this that these those there here if then than so as about into over under not
    no any some all each every much many more most other such only own same very just also
    too up out off again once get gets got give tell please between during before after
    什么 怎么 多少 哪些 哪个 是否 可以 如何 为什 么是 是什 吗 的 了 呢
"""
QUERY_STOPWORDS = frozenset(_FUNCTION_WORDS.split())


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


def query_terms(text: str) -> list[str]:
    """The distinct terms of a search query, without `QUERY_STOPWORDS`."""
    return [t for t in dict.fromkeys(terms(text)) if t not in QUERY_STOPWORDS]
