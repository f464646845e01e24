"""StreamedString: the pieces it gives back add up to what json.loads makes of the value,
however the JSON text is cut, and no piece is given back before it is certain."""

from __future__ import annotations

import json
import random

import pytest

from openscope.protocols.openai_responses.streamed_string import StreamedString

CODES = [
    "print(12**3)",
    'print("a\\"b")\nx = {"k": [1, 2]}\n\ttab\r\n',
    "s = '\u00e9\u4e2d\u6587 \U0001f600 \U00010348'",
    "path = 'C:\\\\dir\\\\file'  # back\\slash / slash \b\f",
    "",
    '"',
    "\\",
    "\U0001f600",
]


def feed_all(pieces: list[str], key: str = "code") -> tuple[str, StreamedString]:
    decoder = StreamedString(key)
    return "".join(decoder.feed(piece) for piece in pieces), decoder


def every_cut(text: str) -> list[list[str]]:
    """One character a piece, and every split in two."""
    return [list(text)] + [[text[:n], text[n:]] for n in range(len(text) + 1)]


@pytest.mark.parametrize("code", CODES)
@pytest.mark.parametrize("ensure_ascii", [True, False])
def test_any_cut_gives_the_value_json_loads_gives(code: str, ensure_ascii: bool) -> None:
    text = json.dumps({"code": code}, ensure_ascii=ensure_ascii)
    for pieces in every_cut(text):
        decoded, decoder = feed_all(pieces)
        assert decoded == code == json.loads(text)["code"], pieces
        assert decoder.done


def test_random_cuts_of_a_long_value() -> None:
    chooser = random.Random(14)  # fixed: the same cuts every run
    code = "".join(
        chooser.choice(["a", "\n", '"', "\\", "\u00e9", "\U0001f600", "\t", "/"])
        for _ in range(400)
    )
    for ensure_ascii in (True, False):
        text = json.dumps({"code": code}, ensure_ascii=ensure_ascii)
        for _ in range(50):
            cuts = sorted(chooser.sample(range(len(text)), 30))
            pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
            assert feed_all(pieces)[0] == code


def test_nothing_uncertain_is_given_early() -> None:
    decoder = StreamedString("code")
    assert decoder.feed('{"code": "a') == "a"
    assert decoder.feed("\\") == ""  # an escape, not yet known
    assert decoder.feed("n") == "\n"
    assert decoder.feed("\\u00") == ""
    assert decoder.feed("e9") == "\u00e9"
    assert decoder.feed("\\ud83d") == ""  # a high surrogate: its low half may follow
    assert decoder.feed("\\ude") == ""
    assert decoder.feed("00b") == "\U0001f600b"
    assert not decoder.done
    assert decoder.feed('"}') == ""
    assert decoder.done


@pytest.mark.parametrize(
    "text",
    [
        '{"code": "\\ud83d"}',  # a lone high surrogate at the end
        '{"code": "\\ud83dx"}',
        '{"code": "\\ud83d\\n"}',
        '{"code": "\\ud83d\\u0041"}',  # followed by an escape that is not a low half
        '{"code": "\\ude00"}',  # a lone low surrogate
    ],
)
def test_lone_surrogates_are_kept_as_json_loads_keeps_them(text: str) -> None:
    for pieces in every_cut(text):
        assert feed_all(pieces)[0] == json.loads(text)["code"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"lang": "python", "code": "1"}', "1"),  # not the first key
        ('{"x": {"code": "nested"}, "code": "top"}', "top"),  # only the top level counts
        ('{"x": ["code", "code"], "code": "top"}', "top"),
        ('{"x": "code", "code": "top"}', "top"),  # a value reading "code" is no key
        ('{"\\u0063ode": "escaped key"}', "escaped key"),
        ('  {  "code"  :  "spaced"  }', "spaced"),
    ],
)
def test_only_the_top_level_key_counts(text: str, expected: str) -> None:
    for pieces in every_cut(text):
        assert feed_all(pieces)[0] == expected


@pytest.mark.parametrize(
    "text",
    [
        '{"code": 12}',
        '{"code": null}',
        '{"code": ["print(1)"]}',
        '{"source": "print(1)"}',
        "not json",
        "",
    ],
)
def test_no_string_value_gives_nothing(text: str) -> None:
    for pieces in every_cut(text):
        assert feed_all(pieces)[0] == ""


def test_a_bad_escape_stops_what_follows() -> None:
    decoded, decoder = feed_all(['{"code": "ab\\qcd"}'])
    assert decoded == "ab"
    assert decoder.done
    assert feed_all(['{"code": "ab\\u00zzcd"}'])[0] == "ab"
