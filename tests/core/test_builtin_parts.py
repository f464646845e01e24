"""Built-in tool calls and results as core data: folded from events, kept in the store's
dicts, and turned into one output item per call."""

from __future__ import annotations

from dataclasses import replace

from openscope.core.builtin_tools import BuiltinToolKind, WebSearch
from openscope.core.codec import part_from_dict, part_to_dict
from openscope.core.events import PartKind, PartStart
from openscope.core.fold import fold
from openscope.core.messages import BuiltinCallPart, BuiltinResultPart, TextPart
from openscope.core.turns import output_items
from tests.core.builtin_events import ARGUMENTS, OUTPUT, SEARCH, searched_then_answered


def test_fold_makes_call_and_result_parts() -> None:
    (choice,) = fold(searched_then_answered()).choices
    assert choice.message.parts == (
        BuiltinCallPart("ws_1", SEARCH, ARGUMENTS),
        BuiltinResultPart("ws_1", SEARCH, OUTPUT),
        TextPart("Sunny."),
    )


def test_the_store_reads_back_what_it_wrote() -> None:
    for part in (
        BuiltinCallPart("ci_1", BuiltinToolKind.CODE_INTERPRETER, '{"code": "1+1"}'),
        BuiltinResultPart("ci_1", BuiltinToolKind.CODE_INTERPRETER, "2", status="failed"),
    ):
        assert part_from_dict(part_to_dict(part)) == part


def test_a_call_and_its_result_are_one_output_item() -> None:
    (choice,) = fold(searched_then_answered()).choices
    items = output_items(choice, "resp_abc", created_at=1)
    assert [len(item.message.parts) for item in items] == [2, 1]
    call, result = items[0].message.parts
    assert isinstance(call, BuiltinCallPart) and isinstance(result, BuiltinResultPart)
    assert items[0].id.startswith("msg_")


def test_a_failed_result_folds_as_failed() -> None:
    events = searched_then_answered()
    start = events[4]
    assert isinstance(start, PartStart) and start.kind is PartKind.BUILTIN_RESULT
    events[4] = replace(start, status="failed")
    (choice,) = fold(events).choices
    assert choice.message.parts[1] == BuiltinResultPart("ws_1", SEARCH, OUTPUT, status="failed")


def test_only_forced_search_true_forces_a_search() -> None:
    # chat's search_options are the client's JSON: "false" or 1 is not true
    assert WebSearch(options={"forced_search": True}).forced
    for value in (False, "false", "true", 1, None):
        assert not WebSearch(options={"forced_search": value}).forced
    assert not WebSearch().forced
