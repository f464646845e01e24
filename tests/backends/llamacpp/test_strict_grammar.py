"""Forced tool calls and json_schema answers on the real embedded model hold only the declared
properties and no runs of whitespace: the small model otherwise copies the schema it was shown
into its arguments and pads its JSON with newlines and indentation."""

import asyncio
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from openscope.backends.llamacpp import LlamaCppBackend
from openscope.core.fold import GenerateResult, afold
from openscope.core.messages import Message, Role, TextPart
from openscope.core.request import (
    GenerateRequest,
    ResponseFormat,
    ResponseFormatType,
    SamplingParams,
    ToolChoice,
    ToolChoiceMode,
    ToolSpec,
)

# The tool a LangChain user got `{"input": 3, "exclusiveMaximum": 1000, ...}` back from.
BOUNDED = ToolSpec(
    "add_one",
    "Add one to a number",
    {
        "type": "object",
        "properties": {
            "input": {"type": "integer", "exclusiveMinimum": -1000, "exclusiveMaximum": 1000}
        },
    },
)
NO_ARGUMENTS = ToolSpec("get_time", "Current time", {"type": "object", "properties": {}})
CAT = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "home": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
    "required": ["name", "home"],
}
SEEDS = (1, 2, 3)
# A JSON string literal, escapes included: its content is the model's to choose.
STRING_LITERAL = re.compile(r'"(?:[^"\\]|\\.)*"')


@pytest.fixture(scope="module")
def backend() -> Iterator[LlamaCppBackend]:
    engine = LlamaCppBackend(ctx_per_seq=2048)
    asyncio.run(engine.start())
    yield engine
    asyncio.run(engine.close())


def ask(text: str, seed: int, **fields: Any) -> GenerateRequest:
    return GenerateRequest(
        model="m",
        messages=(Message(Role.USER, (TextPart(text),)),),
        sampling=SamplingParams(max_tokens=150, temperature=1.0, seed=seed),
        **fields,
    )


async def forced_arguments(backend: LlamaCppBackend, tool: ToolSpec, text: str, seed: int) -> str:
    request = ask(
        text,
        seed,
        tools=(tool,),
        tool_choice=ToolChoice(ToolChoiceMode.NAMED, name=tool.name),
    )
    result: GenerateResult = await afold(backend.generate(request, "m"))
    (call,) = result.choices[0].message.tool_calls
    assert call.name == tool.name
    return call.arguments


def assert_compact(json_text: str) -> None:
    """Between the JSON tokens at most one space: no newlines, no indentation."""
    between_strings = STRING_LITERAL.sub('""', json_text)
    assert not re.search(r"\s{2,}|[\n\r\t]", between_strings), repr(json_text)


@pytest.mark.parametrize("seed", SEEDS)
async def test_a_forced_call_holds_only_declared_arguments(
    backend: LlamaCppBackend, seed: int
) -> None:
    arguments = await forced_arguments(backend, BOUNDED, "Add one to 3.", seed)
    assert set(json.loads(arguments)) <= {"input"}, arguments
    assert_compact(arguments)


@pytest.mark.parametrize("seed", SEEDS)
async def test_a_tool_without_parameters_is_called_with_no_arguments(
    backend: LlamaCppBackend, seed: int
) -> None:
    arguments = await forced_arguments(backend, NO_ARGUMENTS, "What time is it?", seed)
    assert json.loads(arguments) == {}, arguments


@pytest.mark.parametrize("seed", SEEDS)
async def test_a_json_schema_answer_holds_only_declared_keys(
    backend: LlamaCppBackend, seed: int
) -> None:
    request = ask(
        "Describe a cat as JSON: its name, age, colour, favourite toy and home city.",
        seed,
        response_format=ResponseFormat(ResponseFormatType.JSON_SCHEMA, schema=CAT),
    )
    result = await afold(backend.generate(request, "m"))
    text = result.choices[0].message.text
    answer = json.loads(text)
    assert set(answer) == {"name", "home"}, text
    assert set(answer["home"]) <= {"city"}, text
    assert_compact(text)


async def test_a_json_object_answer_is_compact(backend: LlamaCppBackend) -> None:
    request = ask(
        "Describe a cat as JSON.",
        1,
        response_format=ResponseFormat(ResponseFormatType.JSON_OBJECT),
    )
    result = await afold(backend.generate(request, "m"))
    text = result.choices[0].message.text
    assert isinstance(json.loads(text), dict), text
    assert_compact(text)
