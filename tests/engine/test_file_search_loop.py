"""file_search in the tool loop, over the scripted backend and a fake KnowledgeSearch:
the caller's workspace and only the request's stores are searched, a call naming no
query searches the user's latest question, the model reads the numbered results, and a
`tool_choice` forcing the tool forces its first call."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence

import pytest

from openscope.backends.scripted import ScriptedBackend
from openscope.core.builtin_tools import BuiltinToolKind, FileSearch
from openscope.core.call import Call
from openscope.core.catalog import default_catalog
from openscope.core.errors import NotFound
from openscope.core.events import (
    ChoiceEnd,
    Event,
    FinishReason,
    PartDelta,
    PartEnd,
    PartKind,
    PartStart,
)
from openscope.core.fold import fold
from openscope.core.knowledge import SearchHit
from openscope.core.messages import (
    BuiltinResultPart,
    ImagePart,
    Message,
    Role,
    TextPart,
    ToolResultPart,
)
from openscope.core.principal import Principal
from openscope.core.request import GenerateRequest, ToolChoice, ToolChoiceMode
from openscope.engine import Route, Router
from openscope.engine.pipeline import Next, compose
from openscope.engine.stages.backend import RunOnBackend
from openscope.engine.stages.tool_loop import ToolLoop, latest_question
from openscope.tools.file_search import FileSearchRunner
from tests.tools.file_search.fake_knowledge import FakeKnowledge, Searched

CALLER = Principal("key-acme", workspace="acme")
ROUTES = {"smollm2-135m-instruct": Route("b", "smollm2-135m-instruct")}
HANDBOOK = SearchHit("file-hb", "handbook.md", 0, "Holidays: 25 days a year.")
STORES = {"acme": {"vs_hr": [HANDBOOK], "vs_unnamed": [HANDBOOK]}}
QUESTION = "How many holidays do I get?"


def calls_file_search(arguments: str) -> list[Event]:
    return [
        PartStart(0, 0, PartKind.TOOL_CALL, tool_call_id="model_0", tool_name="file_search"),
        PartDelta(0, 0, arguments),
        PartEnd(0, 0),
        ChoiceEnd(0, FinishReason.TOOL_CALLS),
    ]


def says(text: str) -> list[Event]:
    return [
        PartStart(0, 0, PartKind.TEXT),
        PartDelta(0, 0, text),
        PartEnd(0, 0),
        ChoiceEnd(0, FinishReason.STOP),
    ]


def scripted(*turns: Sequence[Event]) -> ScriptedBackend:
    asked = [0]

    def script(request: GenerateRequest, choice: int) -> Sequence[Event]:
        turn = turns[min(asked[0], len(turns) - 1)]
        asked[0] += 1
        return turn

    return ScriptedBackend(script)


def pipeline(backend: ScriptedBackend, fake: FakeKnowledge) -> Next:
    route = Router(default_catalog(), ROUTES, {}, created=1)
    loop = ToolLoop(
        {BuiltinToolKind.FILE_SEARCH: FileSearchRunner(fake)},
        router=route,
        backends={"b": backend},
    )
    return compose([loop], terminal=RunOnBackend(route, {"b": backend}))


def ask(*messages: Message, choice: ToolChoice | None = None) -> Call:
    request = GenerateRequest(
        model="smollm2-135m-instruct",
        messages=messages or (Message(Role.USER, (TextPart(QUESTION),)),),
        builtin_tools=(FileSearch(("vs_hr",)),),
        tool_choice=choice or ToolChoice(),
    )
    return Call(CALLER, request, stream=True, request_id="req-1")


async def run(next_: Next, call: Call) -> list[Event]:
    async with asyncio.timeout(5):
        return [event async for event in next_(call)]


async def test_a_call_without_queries_searches_the_question_in_the_callers_stores() -> None:
    fake = FakeKnowledge(STORES)
    backend = scripted(calls_file_search("{}"), says("25 days [file_1]."))
    events = await run(pipeline(backend, fake), ask())

    # only the store the request named, in the caller's workspace, for the question
    (searched,) = fake.searched
    assert (searched.workspace, searched.store_ids) == ("acme", ("vs_hr",))
    assert searched.query.queries == (QUESTION,)
    (choice,) = fold(events).choices
    _, result, answer = choice.message.parts
    assert isinstance(result, BuiltinResultPart) and result.status == "completed"
    assert json.loads(result.output)["queries"] == [QUESTION]
    assert answer == TextPart("25 days [file_1].")
    # the model read the numbered results
    _, second = (request for request, _ in backend.requests)
    tool_turn = second.messages[-1]
    assert tool_turn.role is Role.TOOL
    read = tool_turn.parts[0]
    assert isinstance(read, ToolResultPart)
    assert "[file_1] handbook.md\nHolidays: 25 days a year." in read.text


async def test_a_store_of_another_workspace_refuses_the_request_before_generating() -> None:
    fake = FakeKnowledge({"other": STORES["acme"]})  # the store is another workspace's
    backend = scripted(calls_file_search('{"queries": ["holidays"]}'), says("Sorry."))
    with pytest.raises(NotFound) as refused:
        await run(pipeline(backend, fake), ask())
    assert "vs_hr" in refused.value.message
    assert not backend.requests and not fake.searched


class GoneWhileAnswering(FakeKnowledge):
    """A store that passes the check before the first turn, then is deleted."""

    async def check_stores(self, workspace: str, store_ids: Sequence[str]) -> None:
        return None


async def test_a_store_gone_by_the_time_of_the_search_reaches_the_model_as_a_failure() -> None:
    fake = GoneWhileAnswering({"other": STORES["acme"]})
    backend = scripted(calls_file_search('{"queries": ["holidays"]}'), says("Sorry."))
    events = await run(pipeline(backend, fake), ask())
    assert fake.searched == [Searched("acme", ("vs_hr",), fake.searched[0].query)]
    (choice,) = fold(events).choices
    result = choice.message.parts[1]
    assert isinstance(result, BuiltinResultPart) and result.status == "failed"
    output = json.loads(result.output)
    assert output["results"] == [] and "vs_hr" in output["error"]
    read = backend.requests[1][0].messages[-1].parts[0]
    assert isinstance(read, ToolResultPart) and read.is_error


@pytest.mark.parametrize(
    ("choice", "sent"),
    [
        (ToolChoice(ToolChoiceMode.REQUIRED), ToolChoice(ToolChoiceMode.REQUIRED)),
        (
            ToolChoice(ToolChoiceMode.NAMED, name="file_search"),
            ToolChoice(ToolChoiceMode.NAMED, name="file_search"),
        ),
    ],
)
async def test_a_tool_choice_forcing_file_search_forces_the_first_turn_only(
    choice: ToolChoice, sent: ToolChoice
) -> None:
    backend = scripted(calls_file_search("{}"), says("ok"))
    await run(pipeline(backend, FakeKnowledge(STORES)), ask(choice=choice))
    first, second = (request.tool_choice for request, _ in backend.requests)
    assert first == sent
    assert second == ToolChoice(ToolChoiceMode.AUTO)


async def test_the_latest_question_is_searched_in_a_longer_conversation() -> None:
    fake = FakeKnowledge(STORES)
    backend = scripted(calls_file_search('{"queries": []}'), says("ok"))
    conversation = (
        Message(Role.USER, (TextPart("What is the X1?"),)),
        Message(Role.ASSISTANT, (TextPart("A phone."),)),
        Message(Role.USER, (TextPart("  And holidays?  "),)),
    )
    await run(pipeline(backend, fake), ask(*conversation))
    assert fake.searched[0].query.queries == ("And holidays?",)


def test_latest_question_passes_over_messages_without_text() -> None:
    asked = Message(Role.USER, (TextPart("holidays?"),))
    image = Message(Role.USER, (ImagePart("https://img.example/x.png"),))
    result = Message(Role.USER, (ToolResultPart("call_1", (TextPart("42"),)),))
    answered = Message(Role.ASSISTANT, (TextPart("25 days."),))
    assert latest_question((asked, answered, image, result)) == "holidays?"
    assert latest_question((answered,)) is None
    assert latest_question(()) is None
