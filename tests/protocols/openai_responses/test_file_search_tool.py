"""The file_search tool's options decoded: vector_store_ids, max_num_results, filters
into core filters, ranking_options; every wrong value refused with OpenAI's wording and
the place it is at; weights it cannot honour and options it does not know refused; the
options kept with the turn read back as they were."""

from __future__ import annotations

from typing import Any

import pytest

from openscope.core.builtin_tools import FileSearch
from openscope.core.codec import builtin_tool_from_dict, builtin_tool_to_dict
from openscope.core.errors import InvalidParameter
from openscope.core.knowledge import Comparison, Compound
from openscope.protocols.openai_responses.decode import decode


def decoded(**options: Any) -> FileSearch:
    tool = {"type": "file_search", "vector_store_ids": ["vs_1"], **options}
    turn, _ = decode({"model": "qwen-plus", "input": "hi", "tools": [tool]})
    (spec,) = turn.request.builtin_tools
    assert isinstance(spec, FileSearch)
    return spec


def refusal(*tools: dict[str, Any]) -> str:
    with pytest.raises(InvalidParameter) as caught:
        decode({"model": "qwen-plus", "input": "hi", "tools": list(tools)})
    assert caught.value.param == "tools"
    return caught.value.message


def refusal_of(**options: Any) -> str:
    return refusal({"type": "file_search", "vector_store_ids": ["vs_1"], **options})


def test_every_option_decodes() -> None:
    spec = decoded(
        vector_store_ids=["vs_1", "vs_2"],
        max_num_results=7,
        filters={
            "type": "and",
            "filters": [
                {"type": "eq", "key": "team", "value": "hr"},
                {"type": "or", "filters": [{"type": "gte", "key": "year", "value": 2024}]},
                {"type": "nin", "key": "tag", "value": ["draft", True, 3.5]},
            ],
        },
        ranking_options={"ranker": "default-2024-11-15", "score_threshold": 0.25},
    )
    assert spec == FileSearch(
        ("vs_1", "vs_2"),
        max_num_results=7,
        filters=Compound(
            "and",
            (
                Comparison("team", "eq", "hr"),
                Compound("or", (Comparison("year", "gte", 2024),)),
                Comparison("tag", "nin", ("draft", True, 3.5)),
            ),
        ),
        score_threshold=0.25,
        ranker="default-2024-11-15",
    )
    # kept with the turn and read back as it was (what a stored response echoes)
    kept = builtin_tool_to_dict(spec)
    assert builtin_tool_from_dict(kept) == spec
    assert kept["filters"]["filters"][2] == {
        "type": "nin",
        "key": "tag",
        "value": ["draft", True, 3.5],
    }
    assert kept["ranking_options"] == {"ranker": "default-2024-11-15", "score_threshold": 0.25}


def test_the_defaults_leave_the_options_unset() -> None:
    spec = decoded()
    assert spec == FileSearch(("vs_1",))
    assert builtin_tool_from_dict(builtin_tool_to_dict(spec)) == spec


@pytest.mark.parametrize("ranker", ["auto", "default-2024-11-15", "none"])
def test_each_ranker_is_taken(ranker: str) -> None:
    assert decoded(ranking_options={"ranker": ranker}).ranker == ranker


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"vector_store_ids": None}, "Missing required parameter: 'tools[0].vector_store_ids'."),
        (
            {"vector_store_ids": []},
            "Invalid 'tools[0].vector_store_ids': empty array. Expected an array with minimum "
            "length 1, but got an empty array instead.",
        ),
        (
            {"vector_store_ids": ["a", "b", "c"]},
            "Invalid 'tools[0].vector_store_ids': array too long. Expected an array with "
            "maximum length 2, but got an array with length 3 instead.",
        ),
        (
            {"vector_store_ids": "vs_1"},
            "Invalid type for 'tools[0].vector_store_ids': expected an array of strings.",
        ),
        (
            {"vector_store_ids": ["vs_1", 2]},
            "Invalid type for 'tools[0].vector_store_ids[1]': expected a vector store id.",
        ),
        (
            {"vector_store_ids": ["vs_1", "vs_1"]},
            "Invalid 'tools[0].vector_store_ids': a vector store is named more than once.",
        ),
        (
            {"max_num_results": 0},
            "Invalid 'tools[0].max_num_results': integer below minimum value. Expected a value "
            "greater than or equal to 1, but got 0 instead.",
        ),
        (
            {"max_num_results": 51},
            "Invalid 'tools[0].max_num_results': integer above maximum value. Expected a value "
            "less than or equal to 50, but got 51 instead.",
        ),
        (
            {"max_num_results": "5"},
            "Invalid type for 'tools[0].max_num_results': expected an integer, but got a string.",
        ),
        (
            {"max_num_results": True},
            "Invalid type for 'tools[0].max_num_results': expected an integer, but got a boolean.",
        ),
        (
            {"filters": {"type": "like", "key": "a", "value": "b"}},
            "Invalid value: 'like'. Supported values are: 'eq', 'ne', 'gt', 'gte', 'lt', "
            "'lte', 'in', 'nin', 'and', and 'or'. (at 'tools[0].filters.type')",
        ),
        (
            {"filters": {"key": "a", "value": "b"}},
            "Missing required parameter: 'tools[0].filters.type'.",
        ),
        (
            {"filters": {"type": "eq", "value": "b"}},
            "Missing required parameter: 'tools[0].filters.key'.",
        ),
        (
            {"filters": {"type": "eq", "key": "a"}},
            "Missing required parameter: 'tools[0].filters.value'.",
        ),
        (
            {"filters": {"type": "eq", "key": "a", "value": {"x": 1}}},
            "Invalid type for 'tools[0].filters.value': expected a string, number or boolean, "
            "but got an object.",
        ),
        (
            {"filters": {"type": "in", "key": "a", "value": "b"}},
            "Invalid 'tools[0].filters.value': 'in' compares with a non-empty array of "
            "strings, numbers or booleans.",
        ),
        (
            {"filters": {"type": "gt", "key": "a", "value": True}},
            "Invalid 'tools[0].filters.value': 'gt' compares with a number or a string.",
        ),
        (
            {"filters": {"type": "eq", "key": "a", "value": "b", "extra": 1}},
            "Unknown parameter: 'tools[0].filters.extra'.",
        ),
        (
            {"filters": {"type": "and", "filters": []}},
            "Invalid 'tools[0].filters.filters': expected a non-empty array of filters.",
        ),
        ({"filters": {"type": "or"}}, "Missing required parameter: 'tools[0].filters.filters'."),
        (
            {"filters": {"type": "and", "filters": [{"type": "eq", "key": "", "value": 1}]}},
            "Invalid type for 'tools[0].filters.filters[0].key': expected a non-empty string.",
        ),
        (
            {"filters": [{"type": "eq", "key": "a", "value": 1}]},
            "Invalid type for 'tools[0].filters': expected an object, but got an array.",
        ),
        (
            {"ranking_options": {"ranker": "fast"}},
            "Invalid value: 'fast'. Supported values are: 'auto', 'default-2024-11-15', and "
            "'none'. (at 'tools[0].ranking_options.ranker')",
        ),
        (
            {"ranking_options": {"score_threshold": 1.5}},
            "Invalid 'tools[0].ranking_options.score_threshold': expected a number between 0 "
            "and 1, but got 1.5 instead.",
        ),
        (
            {"ranking_options": {"score_threshold": "high"}},
            "Invalid type for 'tools[0].ranking_options.score_threshold': expected a number, "
            "but got a string.",
        ),
        (
            {"ranking_options": {"hybrid_search": {"embedding_weight": 1, "text_weight": 0}}},
            "Invalid 'tools[0].ranking_options.hybrid_search': not supported; the search "
            "fuses its vector and keyword rankings by rank, with no weights to set.",
        ),
        (
            {"ranking_options": {"rerank": True}},
            "Unknown parameter: 'tools[0].ranking_options.rerank'.",
        ),
        ({"include_results": True}, "Unknown parameter: 'tools[0].include_results'."),
    ],
)
def test_wrong_options_are_refused_with_where_they_are(
    options: dict[str, Any], message: str
) -> None:
    assert refusal_of(**options) == message


def test_deeply_nested_filters_are_refused() -> None:
    nested: dict[str, Any] = {"type": "eq", "key": "a", "value": 1}
    for _ in range(8):
        nested = {"type": "and", "filters": [nested]}
    assert "nest at most 8 deep" in refusal_of(filters=nested)


def test_filters_too_large_to_run_are_refused() -> None:
    wide = {"type": "or", "filters": [{"type": "eq", "key": "a", "value": n} for n in range(65)]}
    assert "at most 64 comparisons" in refusal_of(filters=wide)
    long_list = {"type": "in", "key": "a", "value": list(range(257))}
    assert "at most 256 values" in refusal_of(filters=long_list)


def test_the_place_named_is_the_tools_own() -> None:
    web = {"type": "web_search"}
    message = refusal(web, {"type": "file_search", "vector_store_ids": []})
    assert message.startswith("Invalid 'tools[1].vector_store_ids'")


def test_two_file_search_tools_are_refused() -> None:
    one = {"type": "file_search", "vector_store_ids": ["vs_1"]}
    two = {"type": "file_search", "vector_store_ids": ["vs_2"]}
    assert refusal(one, two) == (
        "Invalid 'tools': at most one file_search tool; name every vector store in its "
        "vector_store_ids."
    )
