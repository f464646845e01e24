"""Tool calling, structured output and thinking end to end, through the official `openai`
and `anthropic` SDKs and all three wire formats.

Forced tool calls and structured output run on the real embedded model, whose constrained
decoding must make every answer validate (checked with `jsonschema`); thinking, which the
embedded model does not have, runs on the scripted backend (`scripted-echo`), which thinks
aloud "The user wrote: ..." when asked to. Thinking-only and stream-only rules need a
catalogue model that thinks: a small second server serves `qwq-plus` with the scripted
backend for those.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anthropic
import jsonschema
import openai
import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from tests.e2e.conftest import ALIAS, MODEL, SCRIPTED, Server, anthropic_sdk, openai_sdk, serving

pytestmark = pytest.mark.e2e

# -- tools ------------------------------------------------------------------------------

FORECAST = "get_forecast"
FORECAST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        "days": {"type": "integer"},
    },
    "required": ["city", "unit", "days"],
    "additionalProperties": False,
}
CLOCK = "get_time"
CLOCK_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
    "additionalProperties": False,
}
SCHEMAS = {FORECAST: FORECAST_SCHEMA, CLOCK: CLOCK_SCHEMA}
DESCRIPTIONS = {FORECAST: "Weather forecast for a city", CLOCK: "Current time in a city"}
QUESTION = "What will the weather be in Paris for the next 3 days?"
RESULT = "Sunny, 24 degrees, light wind."
CALL_TOKENS = 80  # a forced call takes ~45 tokens


def chat_tool(name: str) -> dict[str, Any]:
    function = {"name": name, "description": DESCRIPTIONS[name], "parameters": SCHEMAS[name]}
    return {"type": "function", "function": function}


def claude_tool(name: str) -> dict[str, Any]:
    return {"name": name, "description": DESCRIPTIONS[name], "input_schema": SCHEMAS[name]}


def responses_tool(name: str) -> dict[str, Any]:
    return {
        "type": "function",
        "name": name,
        "description": DESCRIPTIONS[name],
        "parameters": SCHEMAS[name],
    }


CHAT_TOOLS = [chat_tool(FORECAST), chat_tool(CLOCK)]
CLAUDE_TOOLS = [claude_tool(FORECAST), claude_tool(CLOCK)]


def assert_valid_call(name: str, arguments: object) -> None:
    """A call to a tool that was offered, whose arguments fit that tool's schema."""
    assert name in SCHEMAS, f"call to an unknown tool {name!r}"
    assert isinstance(arguments, dict), f"arguments are not an object: {arguments!r}"
    jsonschema.validate(arguments, SCHEMAS[name])


def decoded(arguments: object) -> object:
    """A call's arguments as sent on the wire: a JSON string holding a JSON object."""
    assert isinstance(arguments, str), f"arguments are not a JSON string: {arguments!r}"
    return json.loads(arguments)


# -- structured output ------------------------------------------------------------------

PERSON_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 16},
        "age": {"type": "integer"},
        "tags": {
            "type": "array",
            "items": {"type": "string", "enum": ["friendly", "brave", "curious"]},
            "maxItems": 3,
        },
        "address": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "maxLength": 16},
                "zip": {"type": "string", "pattern": "^[0-9]{5}$"},
            },
            "required": ["city", "zip"],
            "additionalProperties": False,
        },
    },
    "required": ["name", "age", "tags", "address"],
    "additionalProperties": False,
}
PERSON = [{"role": "user", "content": "Invent a person and describe them as JSON."}]
SCHEMA_RUNS = 20
SCHEMA_TOKENS = 200  # answers take 50-100 tokens
RESPONSES_SCHEMA_RUNS = 3  # the Responses API has no seed: these runs are not reproducible


def chat_schema_format(schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "json_schema",
        "json_schema": {"name": "person", "schema": schema, "strict": True},
    }


# -- clients and servers ----------------------------------------------------------------


THINKER = "qwq-plus"
THINKER_CONFIG = f"""
[backends.scripted]
type = "scripted"

[routes]
"{SCRIPTED}" = "scripted"
"""


@pytest.fixture(scope="module")
def thinker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A second server, scripted backend only (it starts in about a second), on which the
    catalogue's `qwq-plus` (thinking only, streaming only) is an alias of `scripted-echo`:
    the thinking rules of such models need one that is routed."""
    workdir = tmp_path_factory.mktemp("openscope-thinker")
    with serving(workdir, config=THINKER_CONFIG, alias=f"{THINKER}={SCRIPTED}") as running:
        yield running


@pytest.fixture(scope="module")
def thinker_chat(thinker: Server) -> Iterator[openai.OpenAI]:
    with openai_sdk(thinker) as sdk:
        yield sdk


@pytest.fixture(scope="module")
def thinker_claude(thinker: Server) -> Iterator[anthropic.Anthropic]:
    with anthropic_sdk(thinker) as sdk:
        yield sdk


# -- chat helpers -----------------------------------------------------------------------


def chat(client: openai.OpenAI, **fields: Any) -> ChatCompletion:
    fields.setdefault("model", MODEL)
    fields.setdefault("messages", [{"role": "user", "content": QUESTION}])
    fields.setdefault("temperature", 0)
    completion: ChatCompletion = client.chat.completions.create(**fields)
    return completion


def chat_stream(client: openai.OpenAI, **fields: Any) -> list[ChatCompletionChunk]:
    fields.setdefault("model", MODEL)
    fields.setdefault("messages", [{"role": "user", "content": QUESTION}])
    fields.setdefault("temperature", 0)
    return list(client.chat.completions.create(stream=True, **fields))


def streamed_message(chunks: list[ChatCompletionChunk]) -> dict[str, Any]:
    """Content, reasoning, tool calls (assembled by index) and finish reason of choice 0."""
    content, reasoning, finish = "", "", None
    calls: dict[int, dict[str, str]] = {}
    for chunk in chunks:
        if not chunk.choices:
            continue
        choice = chunk.choices[0]
        delta = choice.delta
        content += delta.content or ""
        reasoning += getattr(delta, "reasoning_content", None) or ""
        for call in delta.tool_calls or ():
            entry = calls.setdefault(call.index, {"id": "", "name": "", "arguments": ""})
            entry["id"] += call.id or ""
            if call.function is not None:
                entry["name"] += call.function.name or ""
                entry["arguments"] += call.function.arguments or ""
        finish = choice.finish_reason or finish
    return {
        "content": content,
        "reasoning": reasoning,
        "calls": [calls[i] for i in sorted(calls)],
        "finish": finish,
    }


# -- forced tool calls: chat ------------------------------------------------------------

CHAT_FORCED = {
    "named": {"type": "function", "function": {"name": FORECAST}},
    "required": "required",
}


@pytest.fixture(scope="module")
def chat_named_call(client: openai.OpenAI) -> ChatCompletion:
    """The named call, not streamed; the tool-result turn builds on it."""
    return chat(client, tools=CHAT_TOOLS, tool_choice=CHAT_FORCED["named"], max_tokens=CALL_TOKENS)


def check_chat_call(completion: ChatCompletion, expected_name: str | None) -> None:
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert not choice.message.content
    calls = choice.message.tool_calls
    assert calls is not None and len(calls) == 1
    (call,) = calls
    assert call.type == "function" and call.id
    if expected_name is not None:
        assert call.function.name == expected_name
    assert_valid_call(call.function.name, decoded(call.function.arguments))


def test_chat_named_call(chat_named_call: ChatCompletion) -> None:
    check_chat_call(chat_named_call, FORECAST)


def test_chat_required_call(client: openai.OpenAI) -> None:
    completion = chat(
        client, tools=CHAT_TOOLS, tool_choice=CHAT_FORCED["required"], max_tokens=CALL_TOKENS
    )
    check_chat_call(completion, None)


@pytest.mark.parametrize("mode", list(CHAT_FORCED))
def test_chat_forced_call_streamed(client: openai.OpenAI, mode: str) -> None:
    chunks = chat_stream(
        client, tools=CHAT_TOOLS, tool_choice=CHAT_FORCED[mode], max_tokens=CALL_TOKENS
    )
    message = streamed_message(chunks)
    assert message["finish"] == "tool_calls"
    assert message["content"] == ""
    (call,) = message["calls"]
    assert call["id"]
    if mode == "named":
        assert call["name"] == FORECAST
    # the arguments arrive in pieces, as engines stream them
    pieces = [
        c
        for c in chunks
        if c.choices and c.choices[0].delta.tool_calls and c.choices[0].delta.tool_calls[0].function
    ]
    assert len(pieces) > 2
    assert_valid_call(call["name"], decoded(call["arguments"]))


# -- forced tool calls: Anthropic -------------------------------------------------------

CLAUDE_FORCED = {"tool": {"type": "tool", "name": FORECAST}, "any": {"type": "any"}}


def claude_create(claude: anthropic.Anthropic, **fields: Any) -> anthropic.types.Message:
    fields.setdefault("model", MODEL)
    fields.setdefault("max_tokens", CALL_TOKENS)
    fields.setdefault("messages", [{"role": "user", "content": QUESTION}])
    fields.setdefault("extra_body", {"temperature": 0})
    return claude.messages.create(**fields)


@pytest.fixture(scope="module")
def claude_named_call(claude: anthropic.Anthropic) -> anthropic.types.Message:
    return claude_create(claude, tools=CLAUDE_TOOLS, tool_choice=CLAUDE_FORCED["tool"])


def check_claude_call(message: anthropic.types.Message, expected_name: str | None) -> None:
    assert message.stop_reason == "tool_use"
    calls = [b for b in message.content if b.type == "tool_use"]
    assert len(calls) == 1
    assert all(b.type == "tool_use" for b in message.content)
    (call,) = calls
    assert call.id
    if expected_name is not None:
        assert call.name == expected_name
    assert isinstance(call.input, dict)  # an object, not a JSON string
    assert_valid_call(call.name, call.input)


def test_claude_named_call(claude_named_call: anthropic.types.Message) -> None:
    check_claude_call(claude_named_call, FORECAST)


def test_claude_any_call(claude: anthropic.Anthropic) -> None:
    check_claude_call(
        claude_create(claude, tools=CLAUDE_TOOLS, tool_choice=CLAUDE_FORCED["any"]), None
    )


@pytest.mark.parametrize("mode", list(CLAUDE_FORCED))
def test_claude_forced_call_streamed(claude: anthropic.Anthropic, mode: str) -> None:
    with claude.messages.stream(
        model=MODEL,
        max_tokens=CALL_TOKENS,
        messages=[{"role": "user", "content": QUESTION}],
        tools=CLAUDE_TOOLS,  # type: ignore[arg-type]
        tool_choice=CLAUDE_FORCED[mode],  # type: ignore[arg-type]
        extra_body={"temperature": 0},
    ) as stream:
        events = list(stream)
        final = stream.get_final_message()
    check_claude_call(final, FORECAST if mode == "tool" else None)
    partial = [
        e.delta.partial_json  # type: ignore[union-attr]
        for e in events
        if e.type == "content_block_delta" and e.delta.type == "input_json_delta"  # type: ignore[union-attr]
    ]
    assert len(partial) > 2
    (call,) = final.content
    assert json.loads("".join(partial)) == call.input  # type: ignore[union-attr]


# -- forced tool calls: Responses -------------------------------------------------------

RESPONSES_FORCED: dict[str, tuple[Any, list[dict[str, Any]]]] = {
    "named": ({"type": "function", "name": FORECAST}, [FORECAST, CLOCK]),
    "required": ("required", [FORECAST]),  # Model Studio: only with exactly one tool
    "allowed_tools": (
        {
            "type": "allowed_tools",
            "mode": "required",
            "tools": [{"type": "function", "name": FORECAST}],
        },
        [FORECAST, CLOCK],
    ),
}


def responses_forced(client: openai.OpenAI, mode: str, **fields: Any) -> Any:
    choice, names = RESPONSES_FORCED[mode]
    return client.responses.create(
        model=MODEL,
        input=QUESTION,
        tools=[responses_tool(n) for n in names],  # type: ignore[misc]
        tool_choice=choice,
        max_output_tokens=CALL_TOKENS,
        temperature=0,
        **fields,
    )


@pytest.fixture(scope="module")
def responses_named_call(client: openai.OpenAI) -> Any:
    return responses_forced(client, "named")


def check_responses_call(response: Any) -> Any:
    assert response.status == "completed"
    (call,) = response.output
    assert call.type == "function_call" and call.status == "completed"
    assert call.call_id and call.id
    assert call.name == FORECAST  # the only tool each mode lets it call
    assert_valid_call(call.name, decoded(call.arguments))
    return call


def test_responses_named_call(responses_named_call: Any) -> None:
    check_responses_call(responses_named_call)
    assert responses_named_call.tool_choice.type == "function"
    assert responses_named_call.tool_choice.name == FORECAST


def test_responses_allowed_tools_call(client: openai.OpenAI) -> None:
    response = responses_forced(client, "allowed_tools")
    check_responses_call(response)
    assert response.tool_choice.type == "allowed_tools"
    assert response.tool_choice.mode == "required"


def check_responses_stream(events: list[Any]) -> None:
    kinds = [e.type for e in events]
    assert kinds[-1] == "response.completed"
    assert "response.output_text.delta" not in kinds
    deltas = [e.delta for e in events if e.type == "response.function_call_arguments.delta"]
    (done,) = [e for e in events if e.type == "response.function_call_arguments.done"]
    assert len(deltas) > 2 and "".join(deltas) == done.arguments
    call = check_responses_call(events[-1].response)
    assert call.arguments == done.arguments


def test_responses_named_call_streamed(client: openai.OpenAI) -> None:
    check_responses_stream(list(responses_forced(client, "named", stream=True)))


def test_responses_required_call(client: openai.OpenAI) -> None:
    response = responses_forced(client, "required")
    check_responses_call(response)
    assert response.tool_choice == "required"


def test_responses_required_call_streamed(client: openai.OpenAI) -> None:
    check_responses_stream(list(responses_forced(client, "required", stream=True)))


# -- a tool result answered in text -----------------------------------------------------

# "none": the tools are still offered but may not be called (every API); "absent": no tools
# at all (chat).
OFFERS = ["none", "absent"]
ANSWER_TOKENS = 16


@pytest.mark.parametrize("offer", OFFERS)
def test_chat_tool_result_answered_in_text(
    client: openai.OpenAI, chat_named_call: ChatCompletion, offer: str
) -> None:
    (call,) = chat_named_call.choices[0].message.tool_calls or []
    tools = {"tools": CHAT_TOOLS, "tool_choice": "none"} if offer == "none" else {}
    answer = chat(
        client,
        messages=[
            {"role": "user", "content": QUESTION},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": call.id,
                        "type": "function",
                        "function": {
                            "name": call.function.name,
                            "arguments": call.function.arguments,
                        },
                    }
                ],
            },
            {"role": "tool", "tool_call_id": call.id, "content": RESULT},
        ],
        max_tokens=ANSWER_TOKENS,
        **tools,
    )
    choice = answer.choices[0]
    assert choice.finish_reason in ("stop", "length")
    assert choice.message.tool_calls is None
    assert choice.message.content and choice.message.content.strip()


def test_claude_tool_result_answered_in_text(
    claude: anthropic.Anthropic, claude_named_call: anthropic.types.Message
) -> None:
    (call,) = claude_named_call.content
    assert call.type == "tool_use"
    answer = claude_create(
        claude,
        max_tokens=ANSWER_TOKENS,
        messages=[
            {"role": "user", "content": QUESTION},
            {"role": "assistant", "content": [call.model_dump(exclude_none=True)]},
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": call.id, "content": RESULT}],
            },
        ],
        tools=CLAUDE_TOOLS,
        tool_choice={"type": "none"},
    )
    assert answer.stop_reason in ("end_turn", "max_tokens")
    assert [b.type for b in answer.content] == ["text"]
    assert answer.content[0].text.strip()  # type: ignore[union-attr]


def test_responses_tool_result_answered_in_text(
    client: openai.OpenAI, responses_named_call: Any
) -> None:
    (call,) = responses_named_call.output
    answer = client.responses.create(
        model=MODEL,
        previous_response_id=responses_named_call.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": RESULT}],
        tools=[responses_tool(FORECAST), responses_tool(CLOCK)],  # type: ignore[list-item]
        tool_choice="none",
        max_output_tokens=ANSWER_TOKENS,
        temperature=0,
    )
    assert answer.status in ("completed", "incomplete")
    assert [item.type for item in answer.output] == ["message"]
    assert answer.output_text.strip()


# -- parallel_tool_calls: false ---------------------------------------------------------

# Three worked examples of a turn with two calls; greedy, the model then calls twice.
EXAMPLES = [("Paris", "Rome"), ("Oslo", "Madrid"), ("Tokyo", "Lima")]
TWO_CITIES = "Weather in London and Berlin?"
WEATHER = "get_weather"
WEATHER_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
}
PARALLEL_TOKENS = 64  # room for two calls (~30 tokens each)


def chat_examples() -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    for i, (a, b) in enumerate(EXAMPLES):
        ids = (f"call_{2 * i}", f"call_{2 * i + 1}")
        messages += [
            {"role": "user", "content": f"Weather in {a} and {b}?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": call_id,
                        "type": "function",
                        "function": {"name": WEATHER, "arguments": json.dumps({"city": city})},
                    }
                    for call_id, city in zip(ids, (a, b), strict=True)
                ],
            },
            {"role": "tool", "tool_call_id": ids[0], "content": "sunny"},
            {"role": "tool", "tool_call_id": ids[1], "content": "rainy"},
            {"role": "assistant", "content": f"{a} is sunny and {b} is rainy."},
        ]
    return [*messages, {"role": "user", "content": TWO_CITIES}]


def claude_examples() -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    for i, (a, b) in enumerate(EXAMPLES):
        ids = (f"call_{2 * i}", f"call_{2 * i + 1}")
        messages += [
            {"role": "user", "content": f"Weather in {a} and {b}?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "tool_use", "id": call_id, "name": WEATHER, "input": {"city": city}}
                    for call_id, city in zip(ids, (a, b), strict=True)
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": ids[0], "content": "sunny"},
                    {"type": "tool_result", "tool_use_id": ids[1], "content": "rainy"},
                ],
            },
            {"role": "assistant", "content": f"{a} is sunny and {b} is rainy."},
        ]
    return [*messages, {"role": "user", "content": TWO_CITIES}]


def responses_examples() -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for i, (a, b) in enumerate(EXAMPLES):
        ids = (f"call_{2 * i}", f"call_{2 * i + 1}")
        items.append({"role": "user", "content": f"Weather in {a} and {b}?"})
        items += [
            {
                "type": "function_call",
                "call_id": call_id,
                "name": WEATHER,
                "arguments": json.dumps({"city": city}),
            }
            for call_id, city in zip(ids, (a, b), strict=True)
        ]
        items += [
            {"type": "function_call_output", "call_id": ids[0], "output": "sunny"},
            {"type": "function_call_output", "call_id": ids[1], "output": "rainy"},
        ]
        items.append({"role": "assistant", "content": f"{a} is sunny and {b} is rainy."})
    return [*items, {"role": "user", "content": TWO_CITIES}]


def parallel_chat(client: openai.OpenAI, parallel: bool) -> ChatCompletion:
    tool = {"type": "function", "function": {"name": WEATHER, "parameters": WEATHER_SCHEMA}}
    return chat(
        client,
        messages=chat_examples(),
        tools=[tool],
        parallel_tool_calls=parallel,
        max_tokens=PARALLEL_TOKENS,
    )


def test_chat_parallel_calls_when_allowed(client: openai.OpenAI) -> None:
    """The control: the same request with parallel calls allowed makes two, so the tests
    below show the setting at work and not a model that calls once anyway."""
    calls = parallel_chat(client, True).choices[0].message.tool_calls or []
    assert [json.loads(c.function.arguments)["city"] for c in calls][:2] == ["London", "Berlin"]


@pytest.fixture(scope="module")
def chat_one_call(client: openai.OpenAI) -> ChatCompletion:
    return parallel_chat(client, False)


def test_chat_parallel_tool_calls_false_yields_one_call(chat_one_call: ChatCompletion) -> None:
    choice = chat_one_call.choices[0]
    assert len(choice.message.tool_calls or []) == 1
    assert choice.finish_reason == "tool_calls"


def test_claude_disable_parallel_tool_use_yields_one_call(claude: anthropic.Anthropic) -> None:
    message = claude_create(
        claude,
        messages=claude_examples(),
        tools=[{"name": WEATHER, "input_schema": WEATHER_SCHEMA}],
        tool_choice={"type": "auto", "disable_parallel_tool_use": True},
        max_tokens=PARALLEL_TOKENS,
    )
    assert [b.type for b in message.content] == ["tool_use"]
    assert message.stop_reason == "tool_use"


@pytest.fixture(scope="module")
def responses_one_call(client: openai.OpenAI) -> Any:
    return client.responses.create(
        model=MODEL,
        input=responses_examples(),  # type: ignore[arg-type]
        tools=[{"type": "function", "name": WEATHER, "parameters": WEATHER_SCHEMA}],  # type: ignore[list-item]
        parallel_tool_calls=False,
        max_output_tokens=PARALLEL_TOKENS,
        temperature=0,
    )


def test_responses_parallel_tool_calls_false_yields_one_call(responses_one_call: Any) -> None:
    assert [i.type for i in responses_one_call.output] == ["function_call"]
    assert responses_one_call.status == "completed"
    assert responses_one_call.parallel_tool_calls is False


def test_responses_render_parallel_calls_as_one_turn(
    chat_one_call: ChatCompletion, responses_one_call: Any
) -> None:
    assert chat_one_call.usage is not None
    assert responses_one_call.usage.input_tokens == chat_one_call.usage.prompt_tokens


# -- structured output ------------------------------------------------------------------


def test_chat_json_object(client: openai.OpenAI) -> None:
    """At temperature 1 this model sometimes rambles inside the object until max_tokens,
    and which seeds do depends on batching: every answer that stops is an object, and
    most of them stop."""
    messages = [
        {
            "role": "user",
            "content": "Give a JSON object with the keys name and city for one person.",
        }
    ]
    stopped = 0
    for seed, stream in ((1, False), (2, True), (3, False), (4, True)):
        fields = {
            "messages": messages,
            "response_format": {"type": "json_object"},
            "temperature": 1.0,
            "seed": seed,
            "max_tokens": 120,
        }
        if stream:
            message = streamed_message(chat_stream(client, **fields))
            content, finish = message["content"], message["finish"]
        else:
            choice = chat(client, **fields).choices[0]
            content, finish = choice.message.content or "", choice.finish_reason
        assert finish in ("stop", "length"), finish
        if finish == "stop":
            stopped += 1
            jsonschema.validate(json.loads(content), {"type": "object"})
    assert stopped >= 2, f"only {stopped} of 4 answers stopped before max_tokens"


def test_chat_strict_json_schema_validates_every_time(client: openai.OpenAI) -> None:
    """Twenty samples at temperature 1.0, distinct seeds, half of them streamed."""
    failures = []
    for seed in range(SCHEMA_RUNS):
        fields = {
            "messages": PERSON,
            "response_format": chat_schema_format(PERSON_SCHEMA),
            "temperature": 1.0,
            "seed": seed,
            "max_tokens": SCHEMA_TOKENS,
        }
        if seed % 2:
            message = streamed_message(chat_stream(client, **fields))
            content, finish = message["content"], message["finish"]
        else:
            choice = chat(client, **fields).choices[0]
            content, finish = choice.message.content or "", choice.finish_reason
        try:
            assert finish == "stop", f"finish_reason {finish}"
            jsonschema.validate(json.loads(content), PERSON_SCHEMA)
        except (AssertionError, ValueError, jsonschema.ValidationError) as error:
            failures.append(f"seed {seed}: {type(error).__name__}: {error}\n  {content!r}")
    valid = SCHEMA_RUNS - len(failures)
    assert not failures, f"{valid} of {SCHEMA_RUNS} valid:\n" + "\n".join(failures)


def test_chat_strict_json_schema_numeric_bounds(client: openai.OpenAI) -> None:
    schema = {
        "type": "object",
        "properties": {"year": {"type": "integer", "minimum": 2100, "maximum": 2199}},
        "required": ["year"],
        "additionalProperties": False,
    }
    messages = [{"role": "user", "content": "In which year was Paris founded? Answer in JSON."}]
    for seed in (1, 2):
        try:
            completion = chat(
                client,
                messages=messages,
                response_format=chat_schema_format(schema),
                temperature=1.0,
                seed=seed,
                max_tokens=32,
            )
        except openai.BadRequestError as error:  # refusing the schema is fine too
            assert "minimum" in str(error.message) or "maximum" in str(error.message)
            return
        jsonschema.validate(json.loads(completion.choices[0].message.content or ""), schema)


@pytest.fixture(scope="module")
def responses_schema_runs(client: openai.OpenAI) -> list[Any]:
    text_format = {
        "format": {
            "type": "json_schema",
            "name": "person",
            "schema": PERSON_SCHEMA,
            "strict": True,
        }
    }
    return [
        client.responses.create(
            model=MODEL,
            input=PERSON,  # type: ignore[arg-type]
            text=text_format,  # type: ignore[arg-type]
            temperature=1.0,
            max_output_tokens=SCHEMA_TOKENS,
        )
        for _ in range(RESPONSES_SCHEMA_RUNS)
    ]


def test_responses_strict_json_schema_validates(responses_schema_runs: list[Any]) -> None:
    for response in responses_schema_runs:
        assert response.status == "completed", response.incomplete_details
        jsonschema.validate(json.loads(response.output_text), PERSON_SCHEMA)


def test_responses_echo_the_text_format(responses_schema_runs: list[Any]) -> None:
    text_format = responses_schema_runs[0].text.format
    assert text_format.type == "json_schema"
    assert text_format.name == "person" and text_format.strict is True


# -- thinking errors --------------------------------------------------------------------

NO_THINKING = f"The model {MODEL} does not support enable_thinking."
FORCED_TOOL = (
    "The tool_choice parameter does not support being set to required or object in thinking mode"
)
JSON_MODE = "Json mode response is not supported when enable_thinking is true"
ONLY_THINKING = "The value of the enable_thinking parameter is restricted to True."
STREAM_ONLY = (
    "This model only support stream mode, please enable the stream parameter to access the model."
)
# qwen-plus thinks for at most 81,920 tokens
BUDGET = "The thinking_budget parameter must be a positive integer and not greater than 81920"
JSON_MESSAGES = [{"role": "user", "content": "Answer in JSON."}]


def chat_refusal(client: openai.OpenAI, fields: dict[str, Any]) -> tuple[str, str | None]:
    fields = {"messages": JSON_MESSAGES, "max_tokens": 8, **fields}
    with pytest.raises(openai.BadRequestError) as raised:
        if fields.pop("stream", False):
            list(client.chat.completions.create(stream=True, **fields))
        else:
            client.chat.completions.create(**fields)
    error = raised.value.response.json()["error"]
    assert error["code"] == "invalid_parameter_error"
    return error["message"], error["param"]


CHAT_THINKING_ERRORS: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "no-thinking",
        {"model": MODEL, "extra_body": {"enable_thinking": True}},
        NO_THINKING,
        "enable_thinking",
    ),
    (
        "no-thinking-stream",
        {"model": MODEL, "stream": True, "extra_body": {"enable_thinking": True}},
        NO_THINKING,
        "enable_thinking",
    ),
    (
        "required-tool",
        {
            "model": SCRIPTED,
            "tools": CHAT_TOOLS,
            "tool_choice": "required",
            "extra_body": {"enable_thinking": True},
        },
        FORCED_TOOL,
        "tool_choice",
    ),
    (
        "named-tool",
        {
            "model": ALIAS,
            "tools": CHAT_TOOLS,
            "tool_choice": CHAT_FORCED["named"],
            "extra_body": {"enable_thinking": True},
        },
        FORCED_TOOL,
        "tool_choice",
    ),
    (
        "json-object",
        {
            "model": SCRIPTED,
            "response_format": {"type": "json_object"},
            "extra_body": {"enable_thinking": True},
        },
        JSON_MODE,
        "response_format",
    ),
    (
        "json-schema",
        {
            "model": ALIAS,
            "response_format": chat_schema_format(PERSON_SCHEMA),
            "extra_body": {"enable_thinking": True},
        },
        JSON_MODE,
        "response_format",
    ),
    (
        "budget",
        {"model": ALIAS, "extra_body": {"enable_thinking": True, "thinking_budget": 81921}},
        BUDGET,
        "thinking_budget",
    ),
]


@pytest.mark.parametrize(
    ("fields", "message", "param"),
    [c[1:] for c in CHAT_THINKING_ERRORS],
    ids=[c[0] for c in CHAT_THINKING_ERRORS],
)
def test_chat_thinking_errors(
    client: openai.OpenAI, fields: dict[str, Any], message: str, param: str
) -> None:
    assert chat_refusal(client, fields) == (message, param)


@pytest.mark.parametrize(
    ("fields", "message", "param"),
    [
        (
            {"extra_body": {"enable_thinking": False}, "stream": True},
            ONLY_THINKING,
            "enable_thinking",
        ),
        ({}, STREAM_ONLY, "stream"),
        ({"extra_body": {"enable_thinking": True}}, STREAM_ONLY, "stream"),
    ],
    ids=["thinking-off", "not-streamed", "thinking-on-not-streamed"],
)
def test_chat_thinking_only_model_errors(
    thinker_chat: openai.OpenAI, fields: dict[str, Any], message: str, param: str
) -> None:
    assert chat_refusal(thinker_chat, {"model": THINKER, **fields}) == (message, param)


def claude_refusal(claude: anthropic.Anthropic, fields: dict[str, Any]) -> str:
    fields = {"max_tokens": 8, "messages": JSON_MESSAGES, **fields}
    with pytest.raises(anthropic.BadRequestError) as raised:
        if fields.pop("stream", False):
            with claude.messages.stream(**fields) as stream:
                list(stream)
        else:
            claude.messages.create(**fields)
    body = raised.value.response.json()
    assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error"
    message: str = body["error"]["message"]
    return message


ENABLED = {"type": "enabled", "budget_tokens": 1024}
CLAUDE_THINKING_ERRORS: list[tuple[str, dict[str, Any], str]] = [
    ("no-thinking", {"model": MODEL, "thinking": ENABLED}, NO_THINKING),
    (
        "any-tool",
        {
            "model": SCRIPTED,
            "thinking": ENABLED,
            "tools": CLAUDE_TOOLS,
            "tool_choice": CLAUDE_FORCED["any"],
        },
        FORCED_TOOL,
    ),
    (
        "named-tool",
        {
            "model": ALIAS,
            "thinking": ENABLED,
            "tools": CLAUDE_TOOLS,
            "tool_choice": CLAUDE_FORCED["tool"],
        },
        FORCED_TOOL,
    ),
    (
        "budget",
        {"model": ALIAS, "thinking": {"type": "enabled", "budget_tokens": 81921}},
        BUDGET,
    ),
]


@pytest.mark.parametrize(
    ("fields", "message"),
    [c[1:] for c in CLAUDE_THINKING_ERRORS],
    ids=[c[0] for c in CLAUDE_THINKING_ERRORS],
)
def test_claude_thinking_errors(
    claude: anthropic.Anthropic, fields: dict[str, Any], message: str
) -> None:
    assert claude_refusal(claude, fields) == message


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"thinking": {"type": "disabled"}, "stream": True}, ONLY_THINKING),
        ({}, STREAM_ONLY),
    ],
    ids=["thinking-off", "not-streamed"],
)
def test_claude_thinking_only_model_errors(
    thinker_claude: anthropic.Anthropic, fields: dict[str, Any], message: str
) -> None:
    assert claude_refusal(thinker_claude, {"model": THINKER, **fields}) == message


def responses_refusal(client: openai.OpenAI, fields: dict[str, Any]) -> str:
    fields = {"input": "Answer in JSON.", "max_output_tokens": 16, **fields}
    with pytest.raises(openai.BadRequestError) as raised:
        if fields.get("stream"):
            list(client.responses.create(**fields))
        else:
            client.responses.create(**fields)
    body = raised.value.response.json()
    assert body["code"] == "invalid_parameter_error"
    message: str = body["message"]
    return message


RESPONSES_THINKING_ERRORS: list[tuple[str, dict[str, Any], str]] = [
    ("no-thinking", {"model": MODEL, "extra_body": {"enable_thinking": True}}, NO_THINKING),
    ("no-thinking-effort", {"model": MODEL, "reasoning": {"effort": "high"}}, NO_THINKING),
    (
        "required-tool",
        {
            "model": SCRIPTED,
            "reasoning": {"effort": "high"},
            "tools": [responses_tool(FORECAST)],
            "tool_choice": "required",
        },
        FORCED_TOOL,
    ),
    (
        "json-object",
        {
            "model": SCRIPTED,
            "extra_body": {"enable_thinking": True},
            "text": {"format": {"type": "json_object"}},
        },
        JSON_MODE,
    ),
]
RESPONSES_THINKER_ERRORS: list[tuple[str, dict[str, Any], str]] = [
    ("thinking-off", {"extra_body": {"enable_thinking": False}, "stream": True}, ONLY_THINKING),
    ("effort-none", {"reasoning": {"effort": "none"}, "stream": True}, ONLY_THINKING),
    ("not-streamed", {}, STREAM_ONLY),
]


@pytest.mark.parametrize(
    ("fields", "message"),
    [c[1:] for c in RESPONSES_THINKING_ERRORS],
    ids=[c[0] for c in RESPONSES_THINKING_ERRORS],
)
def test_responses_thinking_errors(
    client: openai.OpenAI, fields: dict[str, Any], message: str
) -> None:
    assert responses_refusal(client, fields) == message


@pytest.mark.parametrize(
    ("fields", "message"),
    [c[1:] for c in RESPONSES_THINKER_ERRORS],
    ids=[c[0] for c in RESPONSES_THINKER_ERRORS],
)
def test_responses_thinking_only_model_errors(
    thinker_chat: openai.OpenAI, fields: dict[str, Any], message: str
) -> None:
    assert responses_refusal(thinker_chat, {"model": THINKER, **fields}) == message


# -- reasoning round trips (scripted backend) -------------------------------------------

THOUGHT = "The user wrote: {}"
THINK = {"enable_thinking": True}


def test_chat_reasoning_round_trip(client: openai.OpenAI) -> None:
    first_question = [{"role": "user", "content": "alpha beta"}]
    first = chat(client, model=SCRIPTED, messages=first_question, extra_body=THINK)
    message = first.choices[0].message
    assert message.reasoning_content == THOUGHT.format("alpha beta")  # type: ignore[attr-defined]
    assert message.content == "alpha beta"
    usage = first.usage
    assert usage is not None and usage.completion_tokens_details is not None
    reasoning_tokens = usage.completion_tokens_details.reasoning_tokens
    assert reasoning_tokens is not None and 0 < reasoning_tokens < usage.completion_tokens
    # the reasoning goes back with the assistant turn, as clients that keep history send it
    second = chat(
        client,
        model=SCRIPTED,
        messages=[
            *first_question,
            {
                "role": "assistant",
                "content": message.content,
                "reasoning_content": message.reasoning_content,  # type: ignore[attr-defined]
            },
            {"role": "user", "content": "gamma"},
        ],
        extra_body=THINK,
    )
    again = second.choices[0].message
    assert again.reasoning_content == THOUGHT.format("gamma")  # type: ignore[attr-defined]
    assert again.content == "gamma"


def test_chat_reasoning_streamed(client: openai.OpenAI) -> None:
    chunks = chat_stream(
        client,
        model=SCRIPTED,
        messages=[{"role": "user", "content": "alpha beta"}],
        stream_options={"include_usage": True},
        extra_body=THINK,
    )
    kinds = []
    for chunk in chunks:
        delta = chunk.choices[0].delta if chunk.choices else None
        if delta is not None and getattr(delta, "reasoning_content", None):
            kinds.append("reasoning")
        elif delta is not None and delta.content:
            kinds.append("content")
    assert kinds[0] == "reasoning" and kinds[-1] == "content"
    assert kinds == sorted(kinds, reverse=True)  # all reasoning, then all content
    message = streamed_message(chunks)
    assert message["reasoning"] == THOUGHT.format("alpha beta")
    assert message["content"] == "alpha beta"
    usage = chunks[-1].usage
    assert usage is not None and usage.completion_tokens_details is not None
    reasoning_tokens = usage.completion_tokens_details.reasoning_tokens
    assert reasoning_tokens is not None and reasoning_tokens > 0


def test_claude_thinking_round_trip(claude: anthropic.Anthropic) -> None:
    first_question = {"role": "user", "content": "alpha beta"}
    first = claude_create(
        claude, model=SCRIPTED, messages=[first_question], thinking=ENABLED, max_tokens=64
    )
    thinking, text = first.content
    assert thinking.type == "thinking" and thinking.signature
    assert thinking.thinking == THOUGHT.format("alpha beta")
    assert text.type == "text" and text.text == "alpha beta"
    with claude.messages.stream(
        model=SCRIPTED,
        max_tokens=64,
        thinking=ENABLED,  # type: ignore[arg-type]
        messages=[
            first_question,  # type: ignore[list-item]
            # the thinking block goes back with its signature, as Anthropic requires
            {"role": "assistant", "content": [b.model_dump() for b in first.content]},
            {"role": "user", "content": "gamma"},
        ],
    ) as stream:
        deltas = [e.delta.type for e in stream if e.type == "content_block_delta"]  # type: ignore[union-attr]
        second = stream.get_final_message()
    assert deltas[0] == "thinking_delta" and "signature_delta" in deltas
    thinking, text = second.content
    assert thinking.type == "thinking" and thinking.signature
    assert thinking.thinking == THOUGHT.format("gamma")
    assert text.type == "text" and text.text == "gamma"


@pytest.mark.parametrize(
    "asked",
    [{"extra_body": THINK}, {"reasoning": {"effort": "high"}}],
    ids=["enable_thinking", "effort"],
)
def test_responses_reasoning_round_trip(client: openai.OpenAI, asked: dict[str, Any]) -> None:
    first = client.responses.create(model=SCRIPTED, input="alpha beta", **asked)
    check_reasoning_response(first, "alpha beta")
    # chained on: the stored reasoning item is part of the history the next turn sees
    with client.responses.stream(
        model=SCRIPTED, input="gamma", previous_response_id=first.id, **asked
    ) as stream:
        kinds = [e.type for e in stream]
        second = stream.get_final_response()
    assert "response.reasoning_summary_text.delta" in kinds
    assert kinds.index("response.reasoning_summary_text.delta") < kinds.index(
        "response.output_text.delta"
    )
    check_reasoning_response(second, "gamma")
    assert second.previous_response_id == first.id
    # the scripted backend counts the words of each message's text plus one per message:
    # "alpha beta" (3), the reasoning item and the answer "alpha beta" as one assistant
    # turn (3), "gamma" (2): the reasoning item came back from the store with the answer
    assert second.usage.input_tokens == 8
    if "reasoning" in asked:
        assert second.reasoning is not None and second.reasoning.effort == "high"


def check_reasoning_response(response: Any, text: str) -> None:
    reasoning, message = response.output
    assert reasoning.type == "reasoning"
    assert [s.text for s in reasoning.summary] == [THOUGHT.format(text)]
    assert message.type == "message" and response.output_text == text
    assert response.usage.output_tokens_details.reasoning_tokens > 0


def test_chat_thinking_only_model_streams_its_reasoning(thinker_chat: openai.OpenAI) -> None:
    message = streamed_message(
        chat_stream(thinker_chat, model=THINKER, messages=[{"role": "user", "content": "delta"}])
    )
    assert message["reasoning"] == THOUGHT.format("delta")
    assert message["content"] == "delta"
