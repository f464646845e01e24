"""The tool loop's `describe` for `image_search` on the scripted backend: the runner gets the
input's images in order and a way to ask the route's model about one; that sub-request
carries the image and the instruction alone (no tools, no built-ins, no thinking, a few
tokens), and its usage is in the answer's (every later report, the last one, the meter's
one record), also when the answer ends right after the tool. Other tools get neither."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

from openscope.backends.scripted import ScriptedBackend
from openscope.core.billing import UsageRecord
from openscope.core.builtin_tools import BuiltinToolKind, ImageSearch, WebSearch
from openscope.core.call import Call
from openscope.core.catalog import default_catalog
from openscope.core.events import (
    ChoiceEnd,
    Event,
    FinishReason,
    PartDelta,
    PartKind,
    PartStart,
    Usage,
    UsageReport,
)
from openscope.core.messages import ImagePart, Message, Role, TextPart, ToolResultPart
from openscope.core.request import GenerateRequest, SamplingParams, ThinkingConfig, ToolSpec
from openscope.engine import Engine, Route, Router
from openscope.engine.pipeline import Next, compose
from openscope.engine.stages.backend import RunOnBackend
from openscope.engine.stages.tool_loop import ToolLoop
from openscope.engine.stages.tool_sight import input_images
from openscope.tools.web_search import (
    ImageResult,
    ImageSearchRunner,
    SearchQuery,
    SearchResult,
)
from tests.engine.helpers import CALLER, unused_store
from tests.engine.test_tool_loop import Runner, assert_one_stream, calls, says

IMAGE_SEARCH = BuiltinToolKind.IMAGE_SEARCH
MODEL = "qwen3-vl-plus"
ROUTES = {"smollm2-135m-instruct": Route("b", "smollm2-135m-instruct")}
PHOTO = ImagePart("https://img.example/photo.jpg")
SCAN = ImagePart("https://img.example/scan.png")
ARGUMENTS = '{"img_idx": 1, "bbox": [0, 0, 500, 500]}'
INSTRUCTION = (
    "Describe the region (0,0)-(500,500) of this image, in coordinates from 0 to 1000, in a "
    "few words for an image search; answer with the words only."
)
BIKE = ImageResult(1, "Red bicycle", "https://img.example/bike.jpg")
WEATHER = ToolSpec("get_weather", parameters={"type": "object", "properties": {}})


class Images:
    def __init__(self) -> None:
        self.queries: list[str] = []

    async def search(self, query: SearchQuery) -> list[SearchResult]:
        raise AssertionError("pages are not searched")

    async def search_images(self, query: SearchQuery) -> list[ImageResult]:
        self.queries.append(query.text)
        return [BIKE]


def is_description(request: GenerateRequest) -> bool:
    return not request.tools and request.messages[-1].text.startswith("Describe")


def model(*turns: Sequence[Event], description: str = "red bicycle") -> ScriptedBackend:
    """Answers a description sub-request with `description` (two deltas), and the answer's
    own turns with `turns` in order."""
    asked = [0]

    def script(request: GenerateRequest, choice: int) -> Sequence[Event]:
        if is_description(request):
            words = description.split(" ", 1)
            return says(words[0], " " + words[1])
        turn = turns[min(asked[0], len(turns) - 1)]
        asked[0] += 1
        return turn

    return ScriptedBackend(script)


def router(**kwargs: Any) -> Router:
    aliases = {MODEL: "smollm2-135m-instruct", "qwen-plus": "smollm2-135m-instruct"}
    return Router(default_catalog(), ROUTES, aliases, created=1, **kwargs)


def pipeline(backend: ScriptedBackend, runner: Any) -> Next:
    route = router()
    loop = ToolLoop({runner.kind: runner}, router=route, backends={"b": backend})
    return compose([loop], terminal=RunOnBackend(route, {"b": backend}))


def ask(*builtins: Any, tools: tuple[ToolSpec, ...] = ()) -> Call:
    request = GenerateRequest(
        model=MODEL,
        messages=(
            Message(Role.USER, (TextPart("What is in these?"), PHOTO)),
            Message(Role.ASSISTANT, (TextPart("Send the other one."),)),
            Message(Role.USER, (SCAN,)),
        ),
        builtin_tools=builtins,
        tools=tools,
        sampling=SamplingParams(temperature=0.3, max_tokens=500),
    )
    return Call(CALLER, request, stream=True, request_id="req-1")


async def run(next_: Next, call: Call) -> list[Event]:
    async with asyncio.timeout(5):
        return [event async for event in next_(call)]


async def summed(backend: ScriptedBackend) -> Usage:
    """What every request the backend was sent used, added up (the scripted backend counts
    words as input tokens and deltas as output tokens)."""
    inputs = [await backend.count_tokens(r, m) for r, m in backend.requests]
    outputs = 0
    for request, _ in backend.requests:
        outputs += (
            2 if is_description(request) else (1 if request.messages[-1].role is Role.TOOL else 2)
        )
    return Usage(input_tokens=sum(inputs), output_tokens=outputs)


def reports(events: Sequence[Event]) -> list[Usage]:
    return [e.usage for e in events if isinstance(e, UsageReport)]


async def test_the_model_describes_the_image_and_its_usage_is_the_answers() -> None:
    backend = model(calls(("image_search", ARGUMENTS)), says("A red bicycle."))
    provider = Images()
    events = await run(
        pipeline(backend, ImageSearchRunner(provider)), ask(ImageSearch(IMAGE_SEARCH))
    )

    assert_one_stream(events)
    first, described, answered = (request for request, _ in backend.requests)
    assert [t.name for t in first.tools] == ["image_search"]
    # the sub-request: the image the call names and the instruction, nothing else
    assert described == GenerateRequest(
        model=MODEL,
        messages=(Message(Role.USER, (SCAN, TextPart(INSTRUCTION))),),
        sampling=SamplingParams(temperature=0.3, max_tokens=48),
        thinking=ThinkingConfig(enabled=False),
    )
    assert described.tools == () and described.builtin_tools == ()
    assert provider.queries == ["red bicycle"]
    # the model reads what was searched for and what was found
    result = answered.messages[-1].parts[0]
    assert isinstance(result, ToolResultPart)
    assert result.text.startswith('Searched the web for images of "red bicycle"')
    assert "[1] Red bicycle" in result.text
    # the item's result, and its output
    (start,) = [e for e in events if isinstance(e, PartStart) and e.kind is PartKind.BUILTIN_RESULT]
    output = "".join(e.text for e in events if isinstance(e, PartDelta) and e.part == start.part)
    assert json.loads(output)["arguments"] == '{"img_idx": 1, "bbox": [0, 0, 500, 500]}'
    assert start.status == "completed"
    # the description's tokens are in the sum: the last report adds up all three requests
    usage = reports(events)
    assert usage[-1] == await summed(backend)
    assert usage[-1].output_tokens == 2 + 2 + 1
    assert isinstance(events[-1], UsageReport)
    # the reports after the description include it: none goes back down
    assert [u.input_tokens for u in usage] == sorted(u.input_tokens for u in usage)


async def test_an_answer_ending_after_the_tool_reports_the_description_too() -> None:
    # the model calls image_search and a client function: the built-in runs, the answer
    # ends there for the client to run its function
    backend = model(calls(("image_search", ARGUMENTS), ("get_weather", "{}")))
    call = ask(ImageSearch(IMAGE_SEARCH), tools=(WEATHER,))
    events = await run(pipeline(backend, ImageSearchRunner(Images())), call)

    assert_one_stream(events)
    _, described = (request for request, _ in backend.requests)
    assert is_description(described)
    last = reports(events)[-1]
    counted = [await backend.count_tokens(r, m) for r, m in backend.requests]
    assert last == Usage(input_tokens=sum(counted), output_tokens=4 + 2)
    finish = events[-1]
    assert isinstance(finish, ChoiceEnd) and finish.finish_reason is FinishReason.TOOL_CALLS
    assert events[-2] == UsageReport(last)


async def test_the_runner_gets_the_input_images_in_order() -> None:
    runner = Runner(IMAGE_SEARCH)
    backend = model(calls(("image_search", ARGUMENTS)), says("ok"))
    await run(pipeline(backend, runner), ask(ImageSearch(IMAGE_SEARCH)))
    ((_, _, context),) = runner.runs
    assert context.images == (PHOTO, SCAN)
    assert context.describe is not None
    assert len(backend.requests) == 2  # describe is only called by a runner that asks


async def test_a_failed_description_is_a_failed_call_and_its_usage_still_counts() -> None:
    backend = model(calls(("image_search", ARGUMENTS)), says("ok"), description="  \n ")
    events = await run(
        pipeline(backend, ImageSearchRunner(Images())), ask(ImageSearch(IMAGE_SEARCH))
    )
    (start,) = [e for e in events if isinstance(e, PartStart) and e.kind is PartKind.BUILTIN_RESULT]
    assert start.status == "failed"
    counted = [await backend.count_tokens(r, m) for r, m in backend.requests]
    assert len(counted) == 3
    assert reports(events)[-1].input_tokens == sum(counted)


async def test_a_tool_that_does_not_describe_costs_no_model_call() -> None:
    runner = Runner(BuiltinToolKind.WEB_SEARCH)
    backend = model(calls(("web_search", '{"query": "x"}')), says("ok"))
    events = await run(pipeline(backend, runner), ask(WebSearch()))
    ((_, _, context),) = runner.runs
    assert context.images == (PHOTO, SCAN)  # the same seam for every tool
    assert len(backend.requests) == 2  # the call's turn and the answer's, no description
    counted = [await backend.count_tokens(r, m) for r, m in backend.requests]
    assert reports(events)[-1].input_tokens == sum(counted)


def test_input_images_count_those_in_tool_results_in_order() -> None:
    messages = (
        Message(Role.USER, (PHOTO,)),
        Message(Role.TOOL, (ToolResultPart("c1", (TextPart("a scan"), SCAN)),)),
        Message(Role.USER, (TextPart("and"), PHOTO)),
    )
    assert input_images(messages) == (PHOTO, SCAN, PHOTO)


async def test_the_meter_writes_one_record_with_the_descriptions_tokens() -> None:
    class Sink:
        def __init__(self) -> None:
            self.records: list[UsageRecord] = []

        def record_nowait(self, record: UsageRecord) -> None:
            self.records.append(record)

    sink = Sink()
    backend = model(calls(("image_search", ARGUMENTS)), says("A red bicycle."))
    engine = Engine(
        router(loop_tools={IMAGE_SEARCH}),
        {"b": backend},
        unused_store(),
        usage=sink,
        tool_runners={IMAGE_SEARCH: ImageSearchRunner(Images())},
    )
    events = await run(engine.generate, ask(ImageSearch(IMAGE_SEARCH)))

    (record,) = sink.records
    assert record.status == "ok"
    total = await summed(backend)
    assert (record.input_tokens, record.output_tokens) == (total.input_tokens, total.output_tokens)
    assert reports(events)[-1] == total
    assert record.builtin_tools == {"image_search": 1}
