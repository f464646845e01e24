"""FileSearchRunner over a fake KnowledgeSearch: what it searches (only the request's
stores, in the caller's workspace, with the tool's options), the queries it takes (the
model's, else the user's question), what the model reads and the item keeps, numbering
on from earlier searches, and every failure as a failed outcome with its reason."""

from __future__ import annotations

import json
from typing import Any

import pytest

from openscope.core.builtin_tools import BuiltinToolKind, FileSearch, WebSearch
from openscope.core.knowledge import Comparison, SearchHit, SearchQuery
from openscope.core.messages import BuiltinResultPart
from openscope.core.tool_runner import ToolContext
from openscope.tools.file_search import FileSearchRunner
from openscope.tools.file_search.runner import MAX_QUERIES, next_file_index
from tests.tools.file_search.fake_knowledge import FakeKnowledge, Searched

HANDBOOK = SearchHit("file-hb", "handbook.md", 0, "Holidays: 25 days a year.", {"team": "hr"})
PRICES = SearchHit("file-pr", "prices.pdf", 0, "The X1 phone costs 2999 yuan.", {"team": "sales"})
SECRET = SearchHit("file-sec", "secret.txt", 0, "The X1 phone launch date is secret.")
STORES = {
    "acme": {"vs_hr": [HANDBOOK], "vs_sales": [PRICES]},
    "other": {"vs_other": [SECRET]},
}
CONTEXT = ToolContext("req_1", "acme", question="How many holidays do I get?")


def knowledge() -> FakeKnowledge:
    return FakeKnowledge(STORES)


async def run(
    fake: FakeKnowledge,
    arguments: dict[str, Any],
    spec: FileSearch | None = None,
    context: ToolContext = CONTEXT,
) -> tuple[Any, dict[str, Any]]:
    spec = spec or FileSearch(("vs_hr", "vs_sales"))
    outcome = await FileSearchRunner(fake).run(spec, arguments, context)
    return outcome, json.loads(outcome.output)


def test_offers_a_file_search_function_whose_queries_are_optional() -> None:
    runner = FileSearchRunner(knowledge())
    assert runner.kind is BuiltinToolKind.FILE_SEARCH
    spec = runner.function(FileSearch(("vs_hr",)))
    assert spec.name == "file_search"
    assert spec.description
    assert spec.parameters["properties"]["queries"]["type"] == "array"
    assert "required" not in spec.parameters


async def test_searches_the_request_stores_in_the_callers_workspace_with_its_queries() -> None:
    fake = knowledge()
    outcome, output = await run(fake, {"queries": [" X1 phone price ", "holidays"]})
    assert fake.searched == [
        Searched("acme", ("vs_hr", "vs_sales"), SearchQuery(("X1 phone price", "holidays")))
    ]
    assert outcome.status == "completed"
    assert output == {
        "queries": ["X1 phone price", "holidays"],
        "results": [
            {
                "file_id": "file-hb",
                "filename": "handbook.md",
                "score": 1.0,
                "text": "Holidays: 25 days a year.",
                "attributes": {"team": "hr"},
            },
            {
                "file_id": "file-pr",
                "filename": "prices.pdf",
                "score": 0.6667,
                "text": "The X1 phone costs 2999 yuan.",
                "attributes": {"team": "sales"},
            },
        ],
        "first_index": 1,
    }
    assert outcome.for_model.endswith(
        "[file_1] handbook.md\nHolidays: 25 days a year.\n\n"
        "[file_2] prices.pdf\nThe X1 phone costs 2999 yuan."
    )
    assert "cite it" in outcome.for_model and "[file_1]" in outcome.for_model


async def test_the_tools_options_shape_the_search() -> None:
    fake = knowledge()
    team = Comparison("team", "eq", "sales")
    spec = FileSearch(("vs_hr", "vs_sales"), max_num_results=3, filters=team, score_threshold=0.5)
    _, output = await run(fake, {"queries": ["X1 phone holidays"]}, spec)
    assert fake.searched[0].query == SearchQuery(
        ("X1 phone holidays",), max_num_results=3, filters=team, score_threshold=0.5
    )
    assert [r["file_id"] for r in output["results"]] == ["file-pr"]


@pytest.mark.parametrize("arguments", [{}, {"queries": []}, {"queries": ["  "]}])
async def test_without_queries_the_users_question_is_searched(arguments: dict[str, Any]) -> None:
    fake = knowledge()
    outcome, output = await run(fake, arguments)
    assert fake.searched[0].query.queries == ("How many holidays do I get?",)
    assert output["queries"] == ["How many holidays do I get?"]
    assert outcome.status == "completed"


async def test_one_query_written_as_a_string_is_searched() -> None:
    fake = knowledge()
    await run(fake, {"queries": "holidays"})
    assert fake.searched[0].query.queries == ("holidays",)


async def test_without_queries_or_a_question_the_call_fails_unsearched() -> None:
    fake = knowledge()
    context = ToolContext("req_1", "acme")
    outcome, output = await run(fake, {}, context=context)
    assert outcome.status == "failed"
    assert "queries" in outcome.for_model
    assert output["results"] == [] and output["error"] == outcome.for_model
    assert fake.searched == []


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        ({"queries": [1, 2]}, "list of strings"),
        ({"queries": {"q": "x"}}, "list of strings"),
        ({"queries": ["a"] * (MAX_QUERIES + 1)}, f"at most {MAX_QUERIES}"),
        ({"queries": ["x" * 1001]}, "longer than 1000"),
    ],
)
async def test_bad_queries_fail_unsearched(arguments: dict[str, Any], words: str) -> None:
    fake = knowledge()
    outcome, output = await run(fake, arguments)
    assert outcome.status == "failed" and words in outcome.for_model
    assert output["results"] == [] and words in output["error"]
    assert fake.searched == []


async def test_a_store_not_found_is_a_failed_call_the_model_reads() -> None:
    # another workspace's store is not found, exactly like a missing one
    fake = knowledge()
    outcome, output = await run(fake, {"queries": ["X1 launch"]}, FileSearch(("vs_other",)))
    assert outcome.status == "failed"
    assert outcome.for_model == (
        "The file search failed: Vector store with id 'vs_other' not found."
    )
    assert output == {
        "queries": ["X1 launch"],
        "results": [],
        "first_index": 1,
        "error": outcome.for_model,
    }
    assert fake.searched[0].workspace == "acme"


async def test_nothing_found_is_a_completed_search_with_no_results() -> None:
    outcome, output = await run(knowledge(), {"queries": ["weather"]})
    assert outcome.status == "completed"
    assert output["results"] == []
    assert outcome.for_model == 'The file search found nothing for "weather".'


async def test_another_tools_spec_is_refused() -> None:
    outcome = await FileSearchRunner(knowledge()).run(WebSearch(), {"queries": ["x"]}, CONTEXT)
    assert outcome.status == "failed"


def result(output: dict[str, Any], status: str = "completed") -> BuiltinResultPart:
    return BuiltinResultPart("call_1", BuiltinToolKind.FILE_SEARCH, json.dumps(output), status)  # type: ignore[arg-type]


async def test_results_are_numbered_on_from_the_earlier_searches() -> None:
    earlier = (
        result({"queries": ["a"], "results": [{"file_id": "f"}] * 3, "first_index": 1}),
        result({"queries": ["b"], "results": [{"file_id": "f"}] * 2, "first_index": 4}),
        # a client's item (no numbers): read from 1
        result({"queries": ["c"], "results": [{"file_id": "f"}]}),
        # not a file search
        BuiltinResultPart("call_2", BuiltinToolKind.WEB_SEARCH, '{"first_index": 40}'),
    )
    assert next_file_index(earlier) == 6
    assert next_file_index(()) == 1
    context = ToolContext("req_1", "acme", earlier=earlier)
    outcome, output = await run(knowledge(), {"queries": ["holidays"]}, context=context)
    assert output["first_index"] == 6
    assert "[file_6] handbook.md" in outcome.for_model


async def test_recall_gives_the_model_what_it_read() -> None:
    runner = FileSearchRunner(knowledge())
    outcome = await runner.run(FileSearch(("vs_hr",)), {"queries": ["holidays"]}, CONTEXT)
    kept = BuiltinResultPart("c", BuiltinToolKind.FILE_SEARCH, outcome.output)
    assert runner.recall(kept) == outcome.for_model


def test_recall_of_a_client_item_and_of_a_failure() -> None:
    runner = FileSearchRunner(knowledge())
    sent_back = result(
        {
            "queries": ["x1"],
            "results": [{"file_id": "f1", "filename": "a.txt", "score": 0.5, "text": "Alpha."}],
        }
    )
    assert runner.recall(sent_back).endswith("[file_1] a.txt\nAlpha.")
    failed = result({"queries": ["x1"], "results": [], "error": "no such store"}, "failed")
    assert runner.recall(failed) == 'The file search for "x1" found nothing: no such store'
    garbled = BuiltinResultPart("c", BuiltinToolKind.FILE_SEARCH, "not json")
    assert runner.recall(garbled) == "The file search left no readable result."
