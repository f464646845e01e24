from __future__ import annotations

import pytest

from openscope.tools.web_search.local_index.fts_query import MAX_TERMS, match_expression


@pytest.mark.parametrize(
    ("text", "expression"),
    [
        ("tokio runtime", '"tokio" OR "runtime"'),
        ("title:secret", '"title" OR "secret"'),
        ('NEAR("a b", 2)', '"near" OR "a" OR "b" OR "2"'),
        ("secret AND OR NOT", '"secret" OR "and" OR "or" OR "not"'),
        ('riv* ^x -y {a b}: "c', '"riv" OR "x" OR "y" OR "a" OR "b" OR "c"'),
        ("Rust rust RUST", '"rust"'),
        ("東京 Café", '"東京" OR "café"'),
    ],
)
def test_every_word_is_a_quoted_string(text: str, expression: str) -> None:
    assert match_expression(text) == expression


@pytest.mark.parametrize("text", ["", "***", '"', "()", " - ^ : "])
def test_no_words_no_expression(text: str) -> None:
    assert match_expression(text) is None


def test_terms_are_capped() -> None:
    expression = match_expression(" ".join(f"w{i}" for i in range(100)))
    assert expression is not None
    assert expression.count(" OR ") == MAX_TERMS - 1
