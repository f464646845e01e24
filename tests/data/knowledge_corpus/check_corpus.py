"""Check the retrieval-quality corpus: files, word counts and the question set.

Run with any Python 3.11+: ``python tests/data/knowledge_corpus/check_corpus.py``.
Exits non-zero and lists every problem when a rule in README.md is broken.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

CORPUS_DIR = Path(__file__).resolve().parent
NOT_DOCUMENTS = {"README.md", "questions.jsonl", "check_corpus.py"}
KINDS = ("lexical", "paraphrase", "multilingual")
MIN_DOCUMENTS = 36
MIN_QUESTIONS = 40
MIN_WORDS, MAX_WORDS = 120, 400
HTML_DOCUMENTS = 4
MIN_CHINESE = 6
# A Chinese word averages about 1.6 characters, so CJK characters / 1.6 estimates
# the word count of Chinese text on the same scale as English words.
CHARS_PER_CHINESE_WORD = 1.6

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
LATIN_WORD = re.compile(r"[A-Za-z0-9]+(?:[-'.][A-Za-z0-9]+)*")
# Function words ignored when comparing a question with its document.
_STOPWORD_TEXT = """
a an the and or but if of to in on at by for from with without into onto over under
up down out off as is are was were be been being am do does did doing have has had i me
my we our you your he she it its they them their this that these those what which who
whom whose when where why how can could should would will shall may might must not no
yes so than then there here too very just about after before each every all any both
few more most other some such only own same get gets got two one long much many
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


class _VisibleText(HTMLParser):
    """Collects the text a browser would show: everything outside head, script and style."""

    _HIDDEN = frozenset({"head", "script", "style"})

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._HIDDEN:
            self._hidden_depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN and self._hidden_depth:
            self._hidden_depth -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden_depth:
            self.parts.append(data)


def visible_text(path: Path) -> str:
    raw = path.read_text(encoding="utf-8")
    if path.suffix != ".html":
        return raw
    parser = _VisibleText()
    parser.feed(raw)
    return " ".join(parser.parts)


def is_chinese(text: str) -> bool:
    return len(CJK.findall(text)) >= len(LATIN_WORD.findall(text))


def word_count(text: str) -> int:
    cjk_words = round(len(CJK.findall(text)) / CHARS_PER_CHINESE_WORD)
    return len(LATIN_WORD.findall(text)) + cjk_words


def content_words(text: str) -> set[str]:
    """Lower-cased English words minus stopwords, with a plural 's' dropped."""
    words = set()
    for word in LATIN_WORD.findall(text.lower()):
        if word in STOPWORDS or word.isdigit():
            continue
        words.add(word[:-1] if len(word) > 3 and word.endswith("s") else word)
    return words


def cjk_trigrams(text: str) -> set[str]:
    runs = re.findall(r"[\u3400-\u4dbf\u4e00-\u9fff]+", text)
    return {run[i : i + 3] for run in runs for i in range(len(run) - 2)}


def check_documents(problems: list[str]) -> dict[str, str]:
    documents = {
        path.name: visible_text(path)
        for path in sorted(CORPUS_DIR.iterdir())
        if path.is_file() and path.name not in NOT_DOCUMENTS
    }
    for name, text in documents.items():
        words = word_count(text)
        if not MIN_WORDS <= words <= MAX_WORDS:
            problems.append(f"{name}: {words} words, outside {MIN_WORDS}-{MAX_WORDS}")
        if name.endswith(".html"):
            raw = (CORPUS_DIR / name).read_text(encoding="utf-8")
            for tag in ("<nav", "<footer", "<h1"):
                if tag not in raw:
                    problems.append(f"{name}: HTML page without {tag}>")
    formats = Counter(Path(name).suffix for name in documents)
    chinese = [name for name, text in documents.items() if is_chinese(text)]
    if len(documents) < MIN_DOCUMENTS:
        problems.append(f"{len(documents)} documents, need at least {MIN_DOCUMENTS}")
    if formats[".html"] != HTML_DOCUMENTS:
        problems.append(f"{formats['.html']} HTML documents, need {HTML_DOCUMENTS}")
    if len(chinese) < MIN_CHINESE:
        problems.append(f"{len(chinese)} Chinese documents, need at least {MIN_CHINESE}")
    counts = [word_count(text) for text in documents.values()]
    print(f"documents: {len(documents)} {dict(sorted(formats.items()))}, Chinese: {len(chinese)}")
    print(f"words per document: min {min(counts)}, max {max(counts)}, total {sum(counts)}")
    return documents


def check_question(number: int, entry: object, documents: dict[str, str]) -> list[str]:
    where = f"questions.jsonl line {number}"
    if not isinstance(entry, dict) or set(entry) != {"question", "answer_file", "kind"}:
        return [f"{where}: needs exactly the keys question, answer_file, kind"]
    question, answer, kind = entry["question"], entry["answer_file"], entry["kind"]
    if kind not in KINDS:
        return [f"{where}: kind {kind!r} is not one of {KINDS}"]
    if answer not in documents:
        return [f"{where}: answer_file {answer!r} does not exist"]
    document = documents[answer]
    question_zh, document_zh = is_chinese(question), is_chinese(document)
    if kind == "multilingual":
        if question_zh == document_zh:
            return [f"{where}: multilingual but question and document share a language"]
        return []
    if question_zh != document_zh:
        return [f"{where}: {kind} question in another language than its document"]
    if question_zh:
        shared = cjk_trigrams(question) & cjk_trigrams(document)
        shared |= content_words(question) & content_words(document)
    else:
        shared = content_words(question) & content_words(document)
    if kind == "lexical" and not shared:
        return [f"{where}: lexical but shares no rare word with {answer}"]
    if kind == "paraphrase" and shared and not question_zh:
        return [f"{where}: paraphrase but shares {sorted(shared)} with {answer}"]
    return []


def check_questions(problems: list[str], documents: dict[str, str]) -> None:
    lines = (CORPUS_DIR / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    entries = [json.loads(line) for line in lines if line.strip()]
    for number, entry in enumerate(entries, start=1):
        problems.extend(check_question(number, entry, documents))
    questions = Counter(entry.get("question") for entry in entries if isinstance(entry, dict))
    problems.extend(f"duplicate question: {q}" for q, n in questions.items() if n > 1)
    kinds = Counter(entry.get("kind") for entry in entries if isinstance(entry, dict))
    chinese = sum(1 for entry in entries if is_chinese(str(entry.get("question", ""))))
    if len(entries) < MIN_QUESTIONS:
        problems.append(f"{len(entries)} questions, need at least {MIN_QUESTIONS}")
    for kind in KINDS:
        if not 0.2 <= kinds[kind] / max(len(entries), 1) <= 0.5:
            problems.append(f"{kinds[kind]} {kind} questions: not about a third")
    if chinese < MIN_CHINESE:
        problems.append(f"{chinese} Chinese questions, need at least {MIN_CHINESE}")
    answered = {e.get("answer_file") for e in entries if isinstance(e, dict)} & set(documents)
    print(f"questions: {len(entries)} {dict(kinds)}, in Chinese: {chinese}")
    print(f"documents that answer a question: {len(answered)} of {len(documents)}")


def main() -> int:
    problems: list[str] = []
    documents = check_documents(problems)
    check_questions(problems, documents)
    for problem in problems:
        print("PROBLEM:", problem)
    print("OK" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
