"""Tool calls, constrained output and the thinking budget on the real embedded model."""

import asyncio
import json
from collections.abc import Iterator
from dataclasses import replace

import jsonschema
import pytest

from openscope.backends.llamacpp import LlamaCppBackend
from openscope.core.events import FinishReason
from openscope.core.fold import GenerateResult, afold
from openscope.core.messages import (
    Message,
    ReasoningPart,
    Role,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from openscope.core.request import (
    GenerateRequest,
    ResponseFormat,
    ResponseFormatType,
    SamplingParams,
    ThinkingConfig,
    ToolChoice,
    ToolChoiceMode,
    ToolSpec,
)

WEATHER = ToolSpec(
    "get_weather",
    "Current weather in a city",
    {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"enum": ["c", "f"]}},
        "required": ["city", "unit"],
        "additionalProperties": False,
    },
)
TIME = ToolSpec("get_time", "Current time", {"type": "object", "properties": {}})


@pytest.fixture(scope="module")
def backend() -> Iterator[LlamaCppBackend]:
    engine = LlamaCppBackend(ctx_per_seq=2048)
    asyncio.run(engine.start())
    yield engine
    asyncio.run(engine.close())


@pytest.fixture(scope="module")
def thinker() -> Iterator[LlamaCppBackend]:
    """The embedded model made to think: its answer starts inside an opened think block."""
    engine = LlamaCppBackend(ctx_per_seq=2048, reasoning=True, reasoning_opens_in_prompt=True)
    asyncio.run(engine.start())
    yield engine
    asyncio.run(engine.close())


def ask(text: str, **fields: object) -> GenerateRequest:
    sampling = fields.pop("sampling", SamplingParams(max_tokens=120, temperature=1.0, seed=5))
    return GenerateRequest(
        model="m",
        messages=(Message(Role.USER, (TextPart(text),)),),
        sampling=sampling,  # type: ignore[arg-type]
        **fields,  # type: ignore[arg-type]
    )


async def run(backend: LlamaCppBackend, request: GenerateRequest) -> GenerateResult:
    return await afold(backend.generate(request, "m"))


@pytest.mark.parametrize(
    "choice",
    [ToolChoice(ToolChoiceMode.REQUIRED), ToolChoice(ToolChoiceMode.NAMED, name="get_weather")],
)
async def test_forced_calls_fit_the_schema(backend: LlamaCppBackend, choice: ToolChoice) -> None:
    for seed in (1, 2, 3):
        request = ask(
            "What's the weather in Paris?",
            tools=(WEATHER,),
            tool_choice=choice,
            sampling=SamplingParams(max_tokens=120, temperature=1.0, seed=seed),
        )
        result = await run(backend, request)
        (call,) = result.choices[0].message.tool_calls
        assert call.name == "get_weather"
        jsonschema.validate(json.loads(call.arguments), WEATHER.parameters)
        assert result.choices[0].finish_reason is FinishReason.TOOL_CALLS


def prompt_text(backend: LlamaCppBackend, request: GenerateRequest) -> str:
    pieces = backend._vocabulary.pieces  # type: ignore[union-attr]
    return b"".join(pieces[t] for t in backend._prompt_tokens(request)).decode()


async def test_allowed_tools_are_the_only_ones_offered_and_called(
    backend: LlamaCppBackend,
) -> None:
    # Under auto the small model seldom calls here, so the calling half forces a call
    # (required): among the allowed tools only, by the grammar.
    names: list[str] = []
    for seed in (1, 2, 3):
        for mode in (ToolChoiceMode.AUTO, ToolChoiceMode.REQUIRED):
            request = ask(
                "What's the weather in Paris? Call a tool.",
                tools=(WEATHER, TIME),
                tool_choice=ToolChoice(mode, allowed=("get_time",)),
                sampling=SamplingParams(max_tokens=60, temperature=1.0, seed=seed),
            )
            prompt = prompt_text(backend, request)
            assert '"name": "get_time"' in prompt
            assert "get_weather" not in prompt
            result = await run(backend, request)
            names += [c.name for c in result.choices[0].message.tool_calls]
    assert names and set(names) == {"get_time"}, names


def weather_lookups(*cities: str) -> tuple[Message, ...]:
    """Past turns in which the assistant looked the weather up: the small model calls the
    tool again when asked once more, which it seldom does unprompted."""
    turns: list[Message] = []
    for i, city in enumerate(cities):
        call = ToolCallPart(f"call_{i}", "get_weather", json.dumps({"city": city, "unit": "c"}))
        turns += [
            Message(Role.USER, (TextPart(f"What's the weather in {city}?"),)),
            Message(Role.ASSISTANT, (call,)),
            Message(Role.TOOL, (ToolResultPart(call.id, (TextPart("20 C"),)),)),
            Message(Role.ASSISTANT, (TextPart(f"It is 20 C in {city}."),)),
        ]
    return tuple(turns)


async def test_strict_calls_under_auto_fit_the_schema(backend: LlamaCppBackend) -> None:
    # Unchecked, seed 0 calls get_weather with "unit": "m", which its enum does not hold.
    messages = (
        *weather_lookups("Rome", "Oslo"),
        Message(Role.USER, (TextPart("What's the weather in Paris?"),)),
    )
    calls = 0
    for seed in range(6):
        request = GenerateRequest(
            model="m",
            messages=messages,
            tools=(replace(WEATHER, strict=True), TIME),
            sampling=SamplingParams(max_tokens=60, temperature=1.0, seed=seed),
        )
        result = await run(backend, request)
        for call in result.choices[0].message.tool_calls:
            calls += 1
            if call.name == "get_weather":
                jsonschema.validate(json.loads(call.arguments), WEATHER.parameters)
            else:
                assert isinstance(json.loads(call.arguments), dict)
    assert calls  # the model did call: the checks above ran


async def test_a_tool_result_is_answered_in_text(backend: LlamaCppBackend) -> None:
    call = ToolCallPart("call_1", "get_weather", '{"city": "Paris", "unit": "c"}')
    request = GenerateRequest(
        model="m",
        messages=(
            Message(Role.USER, (TextPart("What's the weather in Paris?"),)),
            Message(Role.ASSISTANT, (call,)),
            Message(Role.TOOL, (ToolResultPart("call_1", (TextPart("18 C, sunny"),)),)),
        ),
        tools=(WEATHER,),
        tool_choice=ToolChoice(ToolChoiceMode.NONE),
        sampling=SamplingParams(max_tokens=40, temperature=0),
    )
    result = await run(backend, request)
    assert result.choices[0].message.text.strip()
    assert not result.choices[0].message.tool_calls
    prompt = backend._template.render(  # type: ignore[union-attr]
        request.messages, tools=(WEATHER,)
    )
    assert "<tool_response>\n18 C, sunny\n</tool_response>" in prompt
    assert '<tool_call>\n{"name": "get_weather"' in prompt


async def test_json_schema_output_validates(backend: LlamaCppBackend) -> None:
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "tags": {"type": "array", "items": {"enum": ["cute", "wild"]}, "maxItems": 2},
            "home": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
                "additionalProperties": False,
            },
        },
        "required": ["name", "tags", "home"],
        "additionalProperties": False,
    }
    for seed in range(5):
        request = ask(
            "Describe a cat as JSON.",
            response_format=ResponseFormat(ResponseFormatType.JSON_SCHEMA, schema=schema),
            sampling=SamplingParams(max_tokens=150, temperature=1.0, seed=seed),
        )
        result = await run(backend, request)
        assert result.choices[0].finish_reason is FinishReason.STOP
        jsonschema.validate(json.loads(result.choices[0].message.text), schema)


async def test_thinking_budget_closes_the_think_block(thinker: LlamaCppBackend) -> None:
    request = ask(
        "Why is the sky blue?",
        thinking=ThinkingConfig(enabled=True, budget_tokens=8),
        sampling=SamplingParams(max_tokens=30, temperature=0),
    )
    result = await run(thinker, request)
    parts = result.choices[0].message.parts
    assert isinstance(parts[0], ReasoningPart) and parts[0].text
    assert any(isinstance(p, TextPart) and p.text for p in parts[1:])
    assert result.usage.reasoning_tokens == 8
    # max_tokens counts the answer alone; the closing tag the engine writes is not sampled
    answer_tokens = result.usage.output_tokens - result.usage.reasoning_tokens
    assert answer_tokens <= 30
    if result.choices[0].finish_reason is FinishReason.LENGTH:
        assert answer_tokens == 30


async def test_max_tokens_does_not_cut_the_thinking_short(thinker: LlamaCppBackend) -> None:
    request = ask(
        "Why is the sky blue?",
        thinking=ThinkingConfig(enabled=True, budget_tokens=20),
        sampling=SamplingParams(max_tokens=5, temperature=0),
    )
    result = await run(thinker, request)
    parts = result.choices[0].message.parts
    assert result.usage.reasoning_tokens == 20  # the thinking budget, past max_tokens
    assert isinstance(parts[0], ReasoningPart)
    assert any(isinstance(p, TextPart) and p.text for p in parts[1:])
    assert result.usage.output_tokens - result.usage.reasoning_tokens <= 5


async def test_no_thinking_no_reasoning(thinker: LlamaCppBackend) -> None:
    request = ask(
        "Hi",
        thinking=ThinkingConfig(enabled=False),
        sampling=SamplingParams(max_tokens=10, temperature=0),
    )
    result = await run(thinker, request)
    assert not any(isinstance(p, ReasoningPart) for p in result.choices[0].message.parts)
    assert result.usage.reasoning_tokens == 0


async def test_only_answer_tokens_carry_logprobs(thinker: LlamaCppBackend) -> None:
    request = ask(
        "Why is the sky blue?",
        thinking=ThinkingConfig(enabled=True, budget_tokens=8),
        sampling=SamplingParams(max_tokens=10, temperature=0, logprobs=True, top_logprobs=2),
    )
    result = await afold(thinker.generate(request, "m"), logprobs=True)
    choice = result.choices[0]
    assert result.usage.reasoning_tokens == 8
    entries = choice.logprobs or ()
    assert len(entries) == result.usage.output_tokens - result.usage.reasoning_tokens
    answer = "".join(e.token for e in entries)
    # the newlines after the think block, which the parser drops, keep their logprobs
    assert answer.strip() == choice.message.text.strip()
