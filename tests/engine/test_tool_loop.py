"""The tool loop over the scripted backend with fake runners: built-in calls become call and
result parts the client sees as they happen, their results go back to the model, and the
answer stays one stream (indices, one finish, summed usage) whatever ends it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import fields, replace
from typing import Any

import pytest

from openscope.backends.base import BackendFeatures
from openscope.backends.scripted import ScriptedBackend
from openscope.core.billing import UsageRecord
from openscope.core.builtin_tools import BuiltinTool, BuiltinToolKind, CodeInterpreter, WebSearch
from openscope.core.call import Call
from openscope.core.catalog import default_catalog
from openscope.core.errors import InvalidParameter
from openscope.core.events import (
    ChoiceEnd,
    Event,
    FinishReason,
    PartDelta,
    PartEnd,
    PartKind,
    PartStart,
    Usage,
    UsageReport,
)
from openscope.core.fold import fold
from openscope.core.messages import (
    BuiltinCallPart,
    BuiltinResultPart,
    Message,
    Role,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from openscope.core.request import (
    GenerateRequest,
    SamplingParams,
    ToolChoice,
    ToolChoiceMode,
    ToolSpec,
)
from openscope.core.rules import Field
from openscope.core.tool_runner import ToolContext, ToolOutcome
from openscope.engine import Engine, Route, Router
from openscope.engine.pipeline import Next, compose
from openscope.engine.stages.backend import RunOnBackend
from openscope.engine.stages.tool_loop import ToolLoop
from tests.engine.helpers import CALLER, unused_store

SEARCH = BuiltinToolKind.WEB_SEARCH
CODE = BuiltinToolKind.CODE_INTERPRETER
QUERY = '{"query": "weather in Hangzhou"}'
WEATHER = ToolSpec("get_weather", parameters={"type": "object", "properties": {}})
ROUTES = {"smollm2-135m-instruct": Route("b", "smollm2-135m-instruct")}


class Runner:
    """A fake runner: answers with `answer` (an outcome, or a callable making one, which may
    raise or wait), and keeps what it was asked."""

    def __init__(
        self,
        kind: BuiltinToolKind = SEARCH,
        answer: ToolOutcome | Callable[[], Any] | None = None,
    ) -> None:
        self._kind = kind
        self._answer = answer or ToolOutcome(
            for_model="Hangzhou: sunny, 25 C.", output='{"sources": ["https://w.example"]}'
        )
        self.runs: list[tuple[BuiltinTool, dict[str, Any], ToolContext]] = []
        self.cancelled = False

    @property
    def kind(self) -> BuiltinToolKind:
        return self._kind

    def function(self, spec: BuiltinTool) -> ToolSpec:
        return ToolSpec(
            str(self._kind),
            description=f"the server's {self._kind}",
            parameters={"type": "object", "properties": {"query": {"type": "string"}}},
        )

    async def run(
        self, spec: BuiltinTool, arguments: dict[str, Any], context: ToolContext
    ) -> ToolOutcome:
        self.runs.append((spec, arguments, context))
        if isinstance(self._answer, ToolOutcome):
            return self._answer
        try:
            answer = self._answer()
            if asyncio.iscoroutine(answer):
                answer = await answer
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        assert isinstance(answer, ToolOutcome)
        return answer

    def recall(self, result: BuiltinResultPart) -> str:
        return f"recalled {result.output}"


def calls(*named: tuple[str, str], finish: FinishReason = FinishReason.TOOL_CALLS) -> list[Event]:
    """The model calls these tools (name, arguments), each argument text in two deltas."""
    events: list[Event] = []
    for part, (name, arguments) in enumerate(named):
        cut = len(arguments) // 2
        events += [
            PartStart(0, part, PartKind.TOOL_CALL, tool_call_id=f"model_{part}", tool_name=name),
            PartDelta(0, part, arguments[:cut]),
            PartDelta(0, part, arguments[cut:]),
            PartEnd(0, part),
        ]
    return [*events, ChoiceEnd(0, finish)]


def says(*chunks: str) -> list[Event]:
    return [
        PartStart(0, 0, PartKind.TEXT),
        *(PartDelta(0, 0, c) for c in chunks),
        PartEnd(0, 0),
        ChoiceEnd(0, FinishReason.STOP),
    ]


def thinks_then_calls(thought: str, name: str, arguments: str) -> list[Event]:
    return [
        PartStart(0, 0, PartKind.REASONING),
        PartDelta(0, 0, thought),
        PartEnd(0, 0),
        PartStart(0, 1, PartKind.TOOL_CALL, tool_call_id="model_1", tool_name=name),
        PartDelta(0, 1, arguments),
        PartEnd(0, 1),
        ChoiceEnd(0, FinishReason.TOOL_CALLS),
    ]


def scripted(*turns: Sequence[Event], features: BackendFeatures | None = None) -> ScriptedBackend:
    """A backend answering its n-th request with `turns[n]` (the last one from then on)."""
    asked = [0]

    def script(request: GenerateRequest, choice: int) -> Sequence[Event]:
        turn = turns[min(asked[0], len(turns) - 1)]
        asked[0] += 1
        return turn

    return ScriptedBackend(script, features=features)


def every_feature(**changes: Any) -> BackendFeatures:
    every: dict[str, Any] = {f.name: True for f in fields(BackendFeatures)}
    every["builtin_tools"] = frozenset()
    return BackendFeatures(**{**every, **changes})


def router(**kwargs: Any) -> Router:
    return Router(
        default_catalog(), ROUTES, {"qwen-plus": "smollm2-135m-instruct"}, created=1, **kwargs
    )


def pipeline(backend: ScriptedBackend, *runners: Runner, **limits: Any) -> Next:
    route = router()
    loop = ToolLoop({r.kind: r for r in runners}, router=route, backends={"b": backend}, **limits)
    return compose([loop], terminal=RunOnBackend(route, {"b": backend}))


def ask(
    *builtins: BuiltinTool,
    tools: tuple[ToolSpec, ...] = (),
    choice: ToolChoice | None = None,
    **sampling: Any,
) -> Call:
    request = GenerateRequest(
        model="qwen-plus",
        messages=(Message(Role.USER, (TextPart("What is the weather?"),)),),
        tools=tools,
        tool_choice=choice or ToolChoice(),
        builtin_tools=builtins,
        sampling=SamplingParams(**sampling),
    )
    return Call(CALLER, request, stream=True, request_id="req-1")


async def run(next_: Next, call: Call) -> list[Event]:
    async with asyncio.timeout(5):
        return [event async for event in next_(call)]


def parts(events: Sequence[Event]) -> list[PartStart]:
    return [e for e in events if isinstance(e, PartStart)]


def assert_one_stream(events: Sequence[Event]) -> None:
    """Parts start in index order 0, 1, 2...; every delta and end belongs to an open part,
    each part ends once; exactly one finish, after every part."""
    opened: set[int] = set()
    ended: set[int] = set()
    for event in events:
        if isinstance(event, PartStart):
            assert event.part == len(opened)
            opened.add(event.part)
        elif isinstance(event, PartDelta):
            assert event.part in opened and event.part not in ended
        elif isinstance(event, PartEnd):
            assert event.part in opened and event.part not in ended
            ended.add(event.part)
    assert opened == ended
    finishes = [i for i, e in enumerate(events) if isinstance(e, ChoiceEnd)]
    assert len(finishes) == 1
    last_part = max(i for i, e in enumerate(events) if isinstance(e, PartEnd))
    assert finishes[0] > last_part


def last_usage(events: Sequence[Event]) -> Usage:
    return [e for e in events if isinstance(e, UsageReport)][-1].usage


# -- one round, several rounds ----------------------------------------------------------


async def test_one_round_streams_the_call_and_its_result_then_the_answer() -> None:
    backend = scripted(calls(("web_search", QUERY)), says("Sunny", " in Hangzhou."))
    runner = Runner()
    events = await run(pipeline(backend, runner), ask(WebSearch()))

    assert_one_stream(events)
    call_start, result_start, text_start = parts(events)
    assert (call_start.kind, call_start.tool_name) == (PartKind.BUILTIN_CALL, "web_search")
    assert call_start.tool_call_id not in (None, "model_0")  # a fresh id, not the model's
    assert (result_start.kind, result_start.tool_name) == (PartKind.BUILTIN_RESULT, "web_search")
    assert result_start.tool_call_id == call_start.tool_call_id
    assert result_start.status == "completed"
    assert text_start.kind is PartKind.TEXT
    # The call streams as the model writes it: its deltas come before the tool runs.
    first_result = events.index(result_start)
    assert [e.text for e in events[:first_result] if isinstance(e, PartDelta)] == [
        QUERY[: len(QUERY) // 2],
        QUERY[len(QUERY) // 2 :],
    ]
    (choice,) = fold(events).choices
    assert choice.message.parts == (
        BuiltinCallPart(call_start.tool_call_id or "", SEARCH, QUERY),
        BuiltinResultPart(
            call_start.tool_call_id or "", SEARCH, '{"sources": ["https://w.example"]}'
        ),
        TextPart("Sunny in Hangzhou."),
    )
    assert choice.finish_reason is FinishReason.STOP

    (spec, arguments, context) = runner.runs[0]
    assert spec == WebSearch() and arguments == {"query": "weather in Hangzhou"}
    assert (context.request_id, context.workspace) == ("req-1", CALLER.workspace)

    first, second = (request for request, _ in backend.requests)
    assert [t.name for t in first.tools] == ["web_search"]
    assert first.builtin_tools == ()  # run here, not asked of the backend
    assert second.messages[1:] == (
        Message(Role.ASSISTANT, (ToolCallPart("model_0", "web_search", QUERY),)),
        Message(
            Role.TOOL,
            (ToolResultPart("model_0", (TextPart("Hangzhou: sunny, 25 C."),)),),
            name="web_search",
        ),
    )


async def test_several_rounds_keep_the_history_and_number_parts_on() -> None:
    backend = scripted(
        thinks_then_calls("Search first.", "web_search", '{"query": "a"}'),
        calls(("web_search", '{"query": "b"}')),
        calls(("code_interpreter", '{"code": "1+1"}')),
        says("Done."),
    )
    search, code = Runner(), Runner(CODE, ToolOutcome("2", '{"logs": "2"}'))
    events = await run(pipeline(backend, search, code), ask(WebSearch(), CodeInterpreter()))

    assert_one_stream(events)
    assert [(p.part, p.kind, p.tool_name) for p in parts(events)] == [
        (0, PartKind.REASONING, None),
        (1, PartKind.BUILTIN_CALL, "web_search"),
        (2, PartKind.BUILTIN_RESULT, "web_search"),
        (3, PartKind.BUILTIN_CALL, "web_search"),
        (4, PartKind.BUILTIN_RESULT, "web_search"),
        (5, PartKind.BUILTIN_CALL, "code_interpreter"),
        (6, PartKind.BUILTIN_RESULT, "code_interpreter"),
        (7, PartKind.TEXT, None),
    ]
    assert [a for _, a, _ in search.runs] == [{"query": "a"}, {"query": "b"}]
    assert [a for _, a, _ in code.runs] == [{"code": "1+1"}]
    last = backend.requests[-1][0]
    # user, then (assistant call, tool result) per round; the thought stays in its turn
    assert [m.role for m in last.messages] == [Role.USER, *[Role.ASSISTANT, Role.TOOL] * 3]
    assert last.messages[1].reasoning == "Search first."
    assert last.messages[-1].parts == (ToolResultPart("model_0", (TextPart("2"),)),)


# -- failures -----------------------------------------------------------------------------


async def _never() -> ToolOutcome:
    await asyncio.Event().wait()
    raise AssertionError("unreachable")


def _raises() -> ToolOutcome:
    raise RuntimeError("boom: secret detail")


@pytest.mark.parametrize(
    ("answer", "model_reads"),
    [
        (ToolOutcome("The search failed: HTTP 503.", '{"error": "503"}', "failed"), "HTTP 503"),
        (_raises, "web_search failed with an internal error."),
        (_never, "web_search did not finish within 0.05 seconds."),
    ],
    ids=["returned-failed", "raised", "timed-out"],
)
async def test_a_failing_tool_is_a_failed_result_for_client_and_model(
    answer: ToolOutcome | Callable[[], Any], model_reads: str
) -> None:
    backend = scripted(calls(("web_search", QUERY)), says("Sorry, no search."))
    runner = Runner(answer=answer)
    events = await run(pipeline(backend, runner, tool_timeout=0.05), ask(WebSearch()))

    assert_one_stream(events)
    result = parts(events)[1]
    assert (result.kind, result.status) == (PartKind.BUILTIN_RESULT, "failed")
    output = "".join(e.text for e in events if isinstance(e, PartDelta) and e.part == 1)
    assert output  # never an empty result
    (reply,) = backend.requests[1][0].messages[-1].parts
    assert isinstance(reply, ToolResultPart) and reply.is_error
    assert model_reads in reply.text
    assert "secret detail" not in reply.text + output  # the exception stays in the log
    assert fold(events).choices[0].message.text == "Sorry, no search."
    if answer is _never:
        assert runner.cancelled  # the timed-out run was stopped, not left running


async def test_arguments_that_are_not_a_json_object_are_a_failed_result_unrun() -> None:
    backend = scripted(calls(("web_search", '{"query": ')), calls(("web_search", "[1]")), says("."))
    runner = Runner()
    events = await run(pipeline(backend, runner), ask(WebSearch()))

    assert runner.runs == []
    assert [p.status for p in parts(events) if p.kind is PartKind.BUILTIN_RESULT] == [
        "failed",
        "failed",
    ]
    replies = [m.parts[0] for m in backend.requests[-1][0].messages if m.role is Role.TOOL]
    assert isinstance(replies[0], ToolResultPart) and "not valid JSON" in replies[0].text
    assert isinstance(replies[1], ToolResultPart) and "must be a JSON object" in replies[1].text


# -- limits -------------------------------------------------------------------------------


async def test_the_round_limit_ends_with_a_turn_without_the_builtins() -> None:
    def script(request: GenerateRequest, choice: int) -> Sequence[Event]:
        offered = any(t.name == "web_search" for t in request.tools)
        return calls(("web_search", QUERY)) if offered else says("From what I found: sunny.")

    backend = ScriptedBackend(script)
    runner = Runner()
    events = await run(pipeline(backend, runner, max_rounds=2), ask(WebSearch()))

    assert_one_stream(events)
    assert len(runner.runs) == 2
    assert len(backend.requests) == 3
    assert [t.name for t in backend.requests[2][0].tools] == []
    assert fold(events).choices[0].message.text == "From what I found: sunny."


async def test_a_builtin_called_when_no_longer_offered_is_not_run_and_ends_the_answer() -> None:
    backend = scripted(calls(("web_search", QUERY)))  # calls whatever it is offered
    runner = Runner()
    events = await run(pipeline(backend, runner, max_rounds=1), ask(WebSearch()))

    assert_one_stream(events)
    assert len(runner.runs) == 1 and len(backend.requests) == 2
    results = [p for p in parts(events) if p.kind is PartKind.BUILTIN_RESULT]
    assert [r.status for r in results] == ["completed", "failed"]
    finish = next(e for e in events if isinstance(e, ChoiceEnd))
    assert finish.finish_reason is FinishReason.STOP  # no client tool call to run


async def test_the_total_tool_time_stops_running_tools() -> None:
    now = [0.0]

    def takes_ten_seconds() -> ToolOutcome:
        now[0] += 10
        return ToolOutcome("found", "{}")

    # Round 1 runs one call (10 s of 15); round 2 calls twice: the first runs (20 s), the
    # second has no time left; round 3 is offered no built-in.
    backend = scripted(
        calls(("web_search", QUERY)),
        calls(("web_search", QUERY), ("web_search", '{"query": "more"}')),
        says("Enough."),
    )
    runner = Runner(answer=takes_ten_seconds)
    loop = pipeline(backend, runner, total_tool_time=15, monotonic=lambda: now[0])
    events = await run(loop, ask(WebSearch()))

    assert_one_stream(events)
    assert len(runner.runs) == 2
    results = [p.status for p in parts(events) if p.kind is PartKind.BUILTIN_RESULT]
    assert results == ["completed", "completed", "failed"]
    assert [t.name for t in backend.requests[2][0].tools] == []
    (unrun,) = backend.requests[2][0].messages[-1].parts
    assert isinstance(unrun, ToolResultPart) and "no time was left" in unrun.text


async def test_max_tokens_bounds_the_whole_answer_across_rounds() -> None:
    backend = scripted(calls(("web_search", QUERY)), says("a", "b", "c"))
    await run(pipeline(backend, Runner()), ask(WebSearch(), max_tokens=5))
    # round 1 generated two deltas (two tokens on the scripted backend)
    assert [r.sampling.max_tokens for r, _ in backend.requests] == [5, 3]


# -- the client leaving -------------------------------------------------------------------


async def test_a_client_leaving_mid_tool_cancels_the_run() -> None:
    started = asyncio.Event()

    async def waits() -> ToolOutcome:
        started.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    backend = scripted(calls(("web_search", QUERY)), says("never"))
    runner = Runner(answer=waits)
    seen: list[Event] = []
    events = pipeline(backend, runner)(ask(WebSearch()))

    async def client() -> None:
        async for event in events:
            seen.append(event)

    reading = asyncio.create_task(client())
    async with asyncio.timeout(5):
        await started.wait()
        reading.cancel()  # what the route runner does when the client hangs up
        with pytest.raises(asyncio.CancelledError):
            await reading
    assert runner.cancelled
    assert len(backend.requests) == 1  # no further turn
    assert not [p for p in parts(seen) if p.kind is PartKind.BUILTIN_RESULT]
    await events.aclose()


# -- function tools beside built-ins ------------------------------------------------------


async def test_a_client_function_call_after_a_builtin_round_ends_the_answer() -> None:
    backend = scripted(calls(("web_search", QUERY)), calls(("get_weather", "{}")))
    events = await run(pipeline(backend, Runner()), ask(WebSearch(), tools=(WEATHER,)))

    assert_one_stream(events)
    assert [(p.part, p.kind, p.tool_name) for p in parts(events)] == [
        (0, PartKind.BUILTIN_CALL, "web_search"),
        (1, PartKind.BUILTIN_RESULT, "web_search"),
        (2, PartKind.TOOL_CALL, "get_weather"),
    ]
    assert parts(events)[2].tool_call_id == "model_0"  # the client answers this id
    assert fold(events).choices[0].finish_reason is FinishReason.TOOL_CALLS
    assert [t.name for t in backend.requests[0][0].tools] == ["get_weather", "web_search"]


async def test_a_builtin_and_a_function_called_together_run_the_builtin_and_end() -> None:
    backend = scripted(calls(("web_search", QUERY), ("get_weather", "{}")), says("unused"))
    runner = Runner()
    events = await run(pipeline(backend, runner), ask(WebSearch(), tools=(WEATHER,)))

    assert_one_stream(events)
    assert len(runner.runs) == 1 and len(backend.requests) == 1
    assert [p.kind for p in parts(events)] == [
        PartKind.BUILTIN_CALL,
        PartKind.TOOL_CALL,
        PartKind.BUILTIN_RESULT,
    ]
    assert fold(events).choices[0].finish_reason is FinishReason.TOOL_CALLS


async def test_a_client_tool_named_like_a_builtin_is_refused() -> None:
    clash = ToolSpec("web_search", parameters={"type": "object"})
    with pytest.raises(InvalidParameter) as refused:
        pipeline(scripted(says(".")), Runner())(ask(WebSearch(), tools=(clash,)))
    assert refused.value.param == "tools"


# -- usage --------------------------------------------------------------------------------


async def test_usage_reports_carry_the_rounds_so_far_and_end_with_their_sum() -> None:
    reports = [
        Usage(input_tokens=100, output_tokens=10, cached_tokens=40, reasoning_tokens=4),
        Usage(input_tokens=150, output_tokens=20, cached_tokens=90, reasoning_tokens=5),
    ]
    turns = [calls(("web_search", QUERY)), says("ok")]

    def backend_like(call: Call) -> AsyncGenerator[Event, None]:
        index = len([m for m in call.request.messages if m.role is Role.TOOL])

        async def events() -> AsyncGenerator[Event, None]:
            yield UsageReport(Usage(input_tokens=reports[index].input_tokens))
            for event in turns[index]:
                yield event
            yield UsageReport(reports[index])

        return events()

    loop = ToolLoop({SEARCH: Runner()}, router=router(), backends={"b": ScriptedBackend()})
    events = await run(compose([loop], terminal=backend_like), ask(WebSearch()))

    seen = [e.usage for e in events if isinstance(e, UsageReport)]
    assert [u.input_tokens for u in seen] == [100, 100, 250, 250]
    assert seen[-1] == Usage(
        input_tokens=250, output_tokens=30, cached_tokens=130, reasoning_tokens=9
    )
    assert isinstance(events[-1], UsageReport)  # the sum is the last word


async def test_the_meter_writes_one_record_with_the_summed_usage() -> None:
    class Sink:
        def __init__(self) -> None:
            self.records: list[UsageRecord] = []

        def record_nowait(self, record: UsageRecord) -> None:
            self.records.append(record)

    sink = Sink()
    backend = scripted(calls(("web_search", QUERY)), calls(("web_search", QUERY)), says("ok"))
    engine = Engine(
        router(loop_tools={SEARCH}),
        {"b": backend},
        unused_store(),
        usage=sink,
        tool_runners={SEARCH: Runner()},
    )
    events = await run(engine.generate, ask(WebSearch()))

    (record,) = sink.records
    counted = [await backend.count_tokens(r, m) for r, m in backend.requests]
    assert record.status == "ok"
    assert record.input_tokens == sum(counted) == last_usage(events).input_tokens
    assert record.output_tokens == 2 + 2 + 1  # the deltas of the three turns
    assert record.builtin_tools == {"web_search": 2}


# -- forced calls -------------------------------------------------------------------------


async def test_forced_search_forces_the_first_turn_only() -> None:
    backend = scripted(calls(("web_search", QUERY)), says("ok"))
    await run(pipeline(backend, Runner()), ask(WebSearch(options={"forced_search": True})))
    first, second = (r.tool_choice for r, _ in backend.requests)
    assert first == ToolChoice(ToolChoiceMode.NAMED, name="web_search")
    assert second == ToolChoice(ToolChoiceMode.AUTO)


@pytest.mark.parametrize("name", ["web_search", "code_interpreter"])
async def test_a_tool_choice_naming_a_builtin_forces_its_function(name: str) -> None:
    backend = scripted(says("ok"))
    named = ToolChoice(ToolChoiceMode.NAMED, name=name)
    code = Runner(CODE)
    await run(pipeline(backend, Runner(), code), ask(WebSearch(), CodeInterpreter(), choice=named))
    assert backend.requests[0][0].tool_choice == ToolChoice(ToolChoiceMode.NAMED, name=name)


async def test_allowed_tools_narrow_the_builtins_too() -> None:
    # A client that allows only get_weather has not allowed web search (or code) either.
    backend = scripted(says("ok"))
    allowed = ToolChoice(ToolChoiceMode.AUTO, allowed=("get_weather",))
    await run(pipeline(backend, Runner()), ask(WebSearch(), tools=(WEATHER,), choice=allowed))
    sent = backend.requests[0][0]
    assert [t.name for t in sent.callable_tools] == ["get_weather"]


@pytest.mark.parametrize("named", ["web_search", "get_weather"])
async def test_allowed_tools_naming_a_builtin_let_it_through(named: str) -> None:
    backend = scripted(says("ok"))
    allowed = ToolChoice(ToolChoiceMode.AUTO, allowed=(named, "web_search"))
    await run(pipeline(backend, Runner()), ask(WebSearch(), tools=(WEATHER,), choice=allowed))
    sent = backend.requests[0][0]
    assert "web_search" in [t.name for t in sent.callable_tools]


# -- passing through ----------------------------------------------------------------------


def _sentinel_next(seen: list[Call]) -> tuple[Next, AsyncGenerator[Event, None]]:
    async def nothing() -> AsyncGenerator[Event, None]:
        yield ChoiceEnd(0, FinishReason.STOP)

    generator = nothing()

    def next_(call: Call) -> AsyncGenerator[Event, None]:
        seen.append(call)
        return generator

    return next_, generator


@pytest.mark.parametrize(
    ("features", "builtins"),
    [
        (every_feature(), ()),  # no built-in named
        (
            every_feature(builtin_tools=frozenset({SEARCH})),
            (WebSearch(),),
        ),  # a Model Studio upstream
        (every_feature(tools=False), (WebSearch(),)),  # nothing to offer it as
        (every_feature(), (CodeInterpreter(),)),  # no runner for it
    ],
    ids=["no-builtin", "backend-runs-it", "no-function-calling", "no-runner"],
)
async def test_calls_the_loop_does_not_serve_pass_through_untouched(
    features: BackendFeatures, builtins: tuple[BuiltinTool, ...]
) -> None:
    seen: list[Call] = []
    next_, generator = _sentinel_next(seen)
    loop = ToolLoop(
        {SEARCH: Runner()}, router=router(), backends={"b": ScriptedBackend(features=features)}
    )
    call = ask(*builtins)
    assert loop(call, next_) is generator  # no hop
    assert seen == [call]
    await generator.aclose()


# -- features: what Resolve lets through --------------------------------------------------


async def test_without_runners_a_builtin_is_refused_by_name_as_before() -> None:
    engine = Engine(router(), {"b": scripted(says("ok"))}, unused_store())
    with pytest.raises(InvalidParameter) as refused:
        await anext(engine.generate(ask(WebSearch())))
    assert refused.value.param is Field.SEARCH  # each protocol names it its own way


async def test_with_a_runner_a_function_calling_backend_serves_the_builtin() -> None:
    backend = scripted(calls(("web_search", QUERY)), says("ok"))
    engine = Engine(router(), {"b": backend}, unused_store(), tool_runners={SEARCH: Runner()})
    events = await run(engine.generate, ask(WebSearch()))
    assert fold(events).choices[0].message.text == "ok"


async def test_a_backend_without_function_calling_still_refuses_the_builtin() -> None:
    backend = ScriptedBackend(features=every_feature(tools=False))
    engine = Engine(router(), {"b": backend}, unused_store(), tool_runners={SEARCH: Runner()})
    with pytest.raises(InvalidParameter):
        await anext(engine.generate(ask(WebSearch())))


def test_an_uncatalogued_model_can_search_when_the_loop_runs_search() -> None:
    routes = {"my-model": Route("b", "my-model")}

    def features(route: Route) -> BackendFeatures:
        return every_feature()

    plain = Router(default_catalog(), routes, {}, created=1, features=features)
    looped = Router(
        default_catalog(), routes, {}, created=1, features=features, loop_tools={SEARCH}
    )
    assert not plain.resolve("my-model").served.spec.capabilities.search
    assert looped.resolve("my-model").served.spec.capabilities.search


def test_a_runner_under_another_kind_is_a_mistake() -> None:
    with pytest.raises(ValueError, match="runs"):
        ToolLoop({CODE: Runner(SEARCH)}, router=router(), backends={})


async def test_json_of_a_failed_outcome_names_the_error() -> None:
    # what the client's failed item carries when the loop itself makes the failure
    backend = scripted(calls(("web_search", "oops")), says("."))
    events = await run(pipeline(backend, Runner()), ask(WebSearch()))
    output = "".join(e.text for e in events if isinstance(e, PartDelta) and e.part == 1)
    assert "not valid JSON" in json.loads(output)["error"]


# -- earlier runs -------------------------------------------------------------------------


def chained(*builtins: BuiltinTool) -> Call:
    """A turn whose history holds an earlier search (a call, its result, the answer)."""
    earlier = Message(
        Role.ASSISTANT,
        (
            BuiltinCallPart("ws_old", SEARCH, '{"query": "old"}'),
            BuiltinResultPart("ws_old", SEARCH, '{"n": 1}'),
            TextPart("It was sunny."),
        ),
    )
    call = ask(*builtins)
    history = (call.request.messages[0], earlier, Message(Role.USER, (TextPart("And now?"),)))
    return Call(CALLER, replace(call.request, messages=history), stream=True, request_id="r2")


async def test_earlier_builtin_runs_reach_the_model_as_function_turns() -> None:
    backend = scripted(says("Still sunny."))
    events = await run(pipeline(backend, Runner()), chained(WebSearch()))

    assert_one_stream(events)
    seen = backend.requests[0][0].messages
    assert [m.role for m in seen] == [
        Role.USER,
        Role.ASSISTANT,
        Role.TOOL,
        Role.ASSISTANT,
        Role.USER,
    ]
    assert seen[1].parts == (ToolCallPart("ws_old", "web_search", '{"query": "old"}'),)
    assert seen[2].parts == (ToolResultPart("ws_old", (TextPart('recalled {"n": 1}'),)),)
    assert seen[3].parts == (TextPart("It was sunny."),)


async def test_earlier_runs_reach_the_model_even_when_no_builtin_is_offered() -> None:
    backend = scripted(says("Sunny, I said."))
    await run(pipeline(backend, Runner()), chained())

    seen = backend.requests[0][0].messages
    assert [m.role for m in seen][1:3] == [Role.ASSISTANT, Role.TOOL]
    assert not any(
        isinstance(p, BuiltinCallPart | BuiltinResultPart) for m in seen for p in m.parts
    )


async def test_a_runner_sees_the_earlier_results_of_history_and_of_this_request() -> None:
    backend = scripted(
        calls(("web_search", '{"query": "a"}')),
        calls(("web_search", '{"query": "b"}')),
        says("Done."),
    )
    search = Runner(answer=ToolOutcome("found", '{"n": 2}'))
    await run(pipeline(backend, search), chained(WebSearch()))

    first, second = (context.earlier for _, _, context in search.runs)
    assert [(r.call_id, r.output) for r in first] == [("ws_old", '{"n": 1}')]
    assert [r.output for r in second] == ['{"n": 1}', '{"n": 2}']
    assert second[1].tool is SEARCH and second[1].status == "completed"


async def test_a_failed_earlier_result_is_an_error_result_for_the_model() -> None:
    call = chained(WebSearch())
    old = call.request.messages[1]
    failed = BuiltinResultPart("ws_old", SEARCH, '{"error": "down"}', status="failed")
    messages = (
        call.request.messages[0],
        Message(Role.ASSISTANT, (old.parts[0], failed)),
        *call.request.messages[2:],
    )
    backend = scripted(says("Sorry."))
    await run(
        pipeline(backend, Runner()),
        replace(call, request=replace(call.request, messages=messages)),
    )
    result = backend.requests[0][0].messages[2].parts[0]
    assert isinstance(result, ToolResultPart) and result.is_error


async def test_a_call_without_its_result_still_gets_a_tool_turn() -> None:
    call = chained()
    lone = Message(Role.ASSISTANT, (BuiltinCallPart("ci_1", CODE, '{"code": "1"}'),))
    messages = (call.request.messages[0], lone, Message(Role.USER, (TextPart("?"),)))
    backend = scripted(says("Hm."))
    await run(
        pipeline(backend, Runner()), replace(call, request=replace(call.request, messages=messages))
    )

    seen = backend.requests[0][0].messages
    assert seen[1].parts == (ToolCallPart("ci_1", "code_interpreter", '{"code": "1"}'),)
    result = seen[2].parts[0]
    assert isinstance(result, ToolResultPart) and result.is_error
    # a kind with no runner here is recalled from its output; none at all is said so
    assert result.content == (TextPart("No result of this call was kept."),)


# -- a tool's own max_uses (Anthropic's web search) ---------------------------------------


async def test_calls_past_max_uses_are_not_run_and_name_why() -> None:
    backend = scripted(
        calls(("web_search", '{"query": "a"}'), ("web_search", '{"query": "b"}')),
        calls(("web_search", '{"query": "c"}')),
        says("Done."),
    )
    runner = Runner()
    events = await run(pipeline(backend, runner), ask(WebSearch(max_uses=1)))

    assert_one_stream(events)
    assert [a for _, a, _ in runner.runs] == [{"query": "a"}]  # b and c were not run
    results = [p for p in parts(events) if p.kind is PartKind.BUILTIN_RESULT]
    assert [r.status for r in results] == ["completed", "failed", "failed"]
    outputs = {
        p.part: "".join(e.text for e in events if isinstance(e, PartDelta) and e.part == p.part)
        for p in results[1:]
    }
    for output in outputs.values():
        assert json.loads(output) == {
            "error": "Not run: web_search may be used at most once in this request.",
            "error_code": "max_uses_exceeded",
        }
    # the model read why, and answered after all
    last = backend.requests[-1][0]
    read = [m.parts[0] for m in last.messages if m.role is Role.TOOL]
    assert [p.is_error for p in read if isinstance(p, ToolResultPart)] == [False, True, True]
    assert fold(events).choices[0].message.parts[-1] == TextPart("Done.")


async def test_max_uses_counts_the_calls_of_every_round() -> None:
    backend = scripted(
        calls(("web_search", '{"query": "a"}')),
        calls(("web_search", '{"query": "b"}')),
        calls(("web_search", '{"query": "c"}')),
        says("Done."),
    )
    runner = Runner()
    events = await run(pipeline(backend, runner), ask(WebSearch(max_uses=2)))
    assert [a for _, a, _ in runner.runs] == [{"query": "a"}, {"query": "b"}]
    statuses = [p.status for p in parts(events) if p.kind is PartKind.BUILTIN_RESULT]
    assert statuses == ["completed", "completed", "failed"]


async def test_without_max_uses_every_call_runs() -> None:
    backend = scripted(
        calls(("web_search", '{"query": "a"}'), ("web_search", '{"query": "b"}')), says(".")
    )
    runner = Runner()
    await run(pipeline(backend, runner), ask(WebSearch()))
    assert len(runner.runs) == 2


# -- chat's search strategies ---------------------------------------------------------------


@pytest.mark.parametrize(("strategy", "searches"), [("turbo", 1), ("agent", 3)])
async def test_a_chat_strategy_bounds_the_searches_then_search_is_no_longer_offered(
    strategy: str, searches: int
) -> None:
    backend = scripted(*[calls(("web_search", QUERY))] * searches, says("Done."))
    search = Runner()
    spec = WebSearch(options={"search_strategy": strategy}, by_strategy=True)
    events = await run(pipeline(backend, search), ask(spec))

    assert_one_stream(events)
    assert len(search.runs) == searches
    offered = [[t.name for t in request.tools] for request, _ in backend.requests]
    assert offered == [["web_search"]] * searches + [[]]


@pytest.mark.parametrize(
    "features",
    [
        every_feature(builtin_tools=frozenset({SEARCH})),  # runs search itself (Model Studio)
        every_feature(tools=False),  # cannot call functions: no function turns to read
    ],
)
async def test_earlier_runs_stay_as_they_are_for_a_backend_that_cannot_read_them_as_calls(
    features: BackendFeatures,
) -> None:
    backend = scripted(says("Sunny."), features=features)
    call = chained()
    await run(pipeline(backend, Runner()), call)

    assert backend.requests[0][0].messages == call.request.messages


def test_count_tokens_sees_the_builtins_as_the_functions_the_model_is_offered() -> None:
    backend = scripted(says("-"))
    route = router()
    loop = ToolLoop({SEARCH: Runner()}, router=route, backends={"b": backend})
    request = chained(WebSearch()).request
    seen = loop.as_the_model_sees_it(replace(request, tools=(WEATHER,)))

    assert [t.name for t in seen.tools] == ["get_weather", "web_search"]
    assert seen.builtin_tools == ()  # run here, not asked of the backend
    assert [m.role for m in seen.messages][1:3] == [Role.ASSISTANT, Role.TOOL]
    # a request with nothing to run here is left as it is
    plain = ask()
    assert loop.as_the_model_sees_it(plain.request) == plain.request
