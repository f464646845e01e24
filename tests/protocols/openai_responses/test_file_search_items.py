"""The `file_search_call` item both ways (builtin-tools.md §3.6): `queries` already while
in progress, `results` [{file_id, filename, score, text}] once done, a failure's reason
in `error` (never a silent `results: null`); such an item sent back in `input` decodes
into the call and result the tool loop reads. And `file_citation` annotations: each
`[file_N]` marker of a result the response holds, found once however the text streams."""

from __future__ import annotations

import json
from typing import Any

import pytest

from openscope.core.builtin_tools import BuiltinToolKind
from openscope.core.errors import InvalidParameter
from openscope.core.messages import BuiltinCallPart, BuiltinResultPart
from openscope.protocols.openai_responses.builtin_items import builtin_call_body
from openscope.protocols.openai_responses.citations import (
    CitationScanner,
    CitedFile,
    cited_files,
    file_citations,
)
from openscope.protocols.openai_responses.decode import input_items
from openscope.protocols.openai_responses.schemas import ItemWire

FILE = BuiltinToolKind.FILE_SEARCH
RESULTS = [
    {"file_id": "file-hb", "filename": "handbook.md", "score": 0.75, "text": "25 days."},
    {
        "file_id": "file-pr",
        "filename": "prices.pdf",
        "score": 0.5,
        "text": "2999 yuan.",
        "attributes": {"team": "sales"},
    },
]
OUTPUT = {"queries": ["holidays", "假期"], "results": RESULTS, "first_index": 3}


def call(arguments: str) -> BuiltinCallPart:
    return BuiltinCallPart("call_1", FILE, arguments)


def result(output: dict[str, Any], status: str = "completed") -> BuiltinResultPart:
    return BuiltinResultPart("call_1", FILE, json.dumps(output), status)  # type: ignore[arg-type]


# -- out --------------------------------------------------------------------------------


def test_in_progress_the_item_has_the_queries() -> None:
    body = builtin_call_body("msg_1", call('{"queries": ["holidays", "假期"]}'), None)
    assert body == {
        "id": "msg_1",
        "type": "file_search_call",
        "status": "in_progress",
        "queries": ["holidays", "假期"],
    }


@pytest.mark.parametrize("arguments", ["{}", '{"queries": [1]}', "not json"])
def test_in_progress_queries_the_model_did_not_write_are_empty(arguments: str) -> None:
    body = builtin_call_body("msg_1", call(arguments), None)
    assert body["queries"] == []


def test_done_the_item_has_the_results_and_not_their_numbers() -> None:
    body = builtin_call_body("msg_1", call('{"queries": ["holidays"]}'), result(OUTPUT))
    assert body == {
        "id": "msg_1",
        "type": "file_search_call",
        "status": "completed",
        "queries": ["holidays", "假期"],
        "results": RESULTS,
    }


def test_a_failed_search_says_why_with_empty_results() -> None:
    failed = {"queries": ["x"], "results": [], "first_index": 1, "error": "not found"}
    body = builtin_call_body("msg_1", call('{"queries": ["x"]}'), result(failed, "failed"))
    assert body == {
        "id": "msg_1",
        "type": "file_search_call",
        "status": "failed",
        "queries": ["x"],
        "results": [],
        "error": "not found",
    }


def test_the_loops_own_failure_keeps_the_items_shape() -> None:
    # the loop writes only an error (bad arguments, a timeout): the shape stays the tool's
    body = builtin_call_body(
        "msg_1", call('{"queries": ["x"]}'), result({"error": "timed out"}, "failed")
    )
    assert body == {
        "id": "msg_1",
        "type": "file_search_call",
        "status": "failed",
        "queries": ["x"],
        "results": [],
        "error": "timed out",
    }


# -- in ---------------------------------------------------------------------------------

ITEM = {
    "type": "file_search_call",
    "id": "msg_fs",
    "status": "completed",
    "queries": ["holidays"],
    "results": RESULTS,
}


def parts(item: dict[str, Any]) -> tuple[Any, ...]:
    (decoded,) = input_items([ItemWire.model_validate(item)])
    assert decoded.id == item["id"]
    return decoded.message.parts


def test_a_file_search_call_sent_back_is_its_call_and_result() -> None:
    sent_call, sent_result = parts(ITEM)
    assert sent_call == BuiltinCallPart("msg_fs", FILE, '{"queries": ["holidays"]}')
    assert sent_result.status == "completed" and sent_result.tool is FILE
    assert json.loads(sent_result.output) == {"queries": ["holidays"], "results": RESULTS}
    # shown again as it came (a round trip)
    assert builtin_call_body("msg_fs", sent_call, sent_result) == ITEM


def test_results_as_openai_leaves_them_out_are_none_found() -> None:
    _, sent_result = parts(ITEM | {"results": None})
    assert json.loads(sent_result.output)["results"] == []


def test_an_item_in_progress_is_only_its_call() -> None:
    assert len(parts(ITEM | {"status": "searching"})) == 1


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"queries": "holidays"}, "input[0].queries': expected a list"),
        ({"queries": [1]}, "input[0].queries': expected a list of strings"),
        ({"results": {"a": 1}}, "input[0].results': expected a list"),
        ({"results": ["x"]}, "input[0].results[0]': expected an object"),
        ({"results": [{**RESULTS[0], "file_id": 1}]}, "input[0].results[0].file_id'"),
        ({"results": [{**RESULTS[0], "score": "high"}]}, "input[0].results[0].score'"),
        ({"results": [{**RESULTS[0], "attributes": []}]}, "input[0].results[0].attributes'"),
        ({"error": 5}, "input[0].error'"),
    ],
)
def test_a_wrong_field_is_refused_by_name(fields: dict[str, Any], where: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        parts(ITEM | fields)
    assert where in caught.value.message
    assert caught.value.param == "input"


# -- citations --------------------------------------------------------------------------

HANDBOOK = CitedFile("file-hb", "handbook.md")
PRICES = CitedFile("file-pr", "prices.pdf")


def test_a_completed_search_names_its_files_by_their_numbers() -> None:
    assert cited_files(result(OUTPUT)) == {3: HANDBOOK, 4: PRICES}
    assert cited_files(result(OUTPUT, "failed")) == {}
    assert cited_files(result({"queries": [], "results": RESULTS})) == {}  # no numbers
    web = BuiltinResultPart("c", BuiltinToolKind.WEB_SEARCH, json.dumps(OUTPUT))
    assert cited_files(web) == {}


def test_each_known_marker_is_a_file_citation_where_it_starts() -> None:
    text = "25 days [file_3]. It costs 2999 [file_4][file_9]; see [file_3]."
    assert file_citations(text, {3: HANDBOOK, 4: PRICES}) == [
        {"type": "file_citation", "file_id": "file-hb", "filename": "handbook.md", "index": 8},
        {"type": "file_citation", "file_id": "file-pr", "filename": "prices.pdf", "index": 32},
        {"type": "file_citation", "file_id": "file-hb", "filename": "handbook.md", "index": 54},
    ]
    assert file_citations(text, {}) == []


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7])
def test_streamed_in_any_pieces_each_marker_is_found_once(size: int) -> None:
    text = "A [file_12] b [file_3][file_12] [file_x] [file_1234567] c [file_3]"
    files = {3: HANDBOOK, 12: PRICES}
    scanner = CitationScanner(files)
    found: list[dict[str, Any]] = []
    for start in range(0, len(text), size):
        found += scanner.feed(text[start : start + size])
    assert found == file_citations(text, files)
    assert [a["index"] for a in found] == [2, 14, 22, 58]
