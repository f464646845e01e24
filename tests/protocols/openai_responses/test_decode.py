"""Responses API request decoding: Model Studio's checks and messages, and how each input
form becomes core items and turn settings."""

from typing import Any

import pytest

from openscope.core.builtin_tools import (
    BuiltinTool,
    BuiltinToolKind,
    CodeInterpreter,
    FileSearch,
    ImageSearch,
    Mcp,
    WebSearch,
)
from openscope.core.errors import InvalidParameter
from openscope.core.messages import (
    ImagePart,
    ReasoningPart,
    Role,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from openscope.core.request import ToolChoiceMode
from openscope.protocols.openai_responses.decode import decode

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}
TIME = {"type": "function", "name": "get_time", "parameters": {"type": "object"}}


def body(**fields: Any) -> dict[str, Any]:
    return {"model": "qwen-plus", "input": "hello", **fields}


def error_of(payload: Any) -> InvalidParameter:
    with pytest.raises(InvalidParameter) as caught:
        decode(payload)
    return caught.value


# -- rules and ranges -------------------------------------------------------------------

MUTUALLY_EXCLUSIVE = (
    "Mutually exclusive parameters: Ensure you are only providing one of: "
    "previous_response_id or conversation."
)


@pytest.mark.parametrize("conversation", ["conv_1", {"id": "conv_1"}])
def test_previous_response_id_and_conversation_are_mutually_exclusive(
    conversation: Any,
) -> None:
    error = error_of(body(previous_response_id="resp_1", conversation=conversation))
    assert error.message == MUTUALLY_EXCLUSIVE
    assert error.param == "previous_response_id"


@pytest.mark.parametrize("conversation", ["conv_1", {"id": "conv_1"}])
def test_conversation_as_a_string_or_an_object(conversation: Any) -> None:
    turn, _ = decode(body(conversation=conversation))
    assert turn.conversation_id == "conv_1"
    assert turn.previous_response_id is None


def test_previous_response_id_is_kept_on_the_turn() -> None:
    turn, _ = decode(body(previous_response_id="resp_1"))
    assert turn.previous_response_id == "resp_1"
    assert turn.conversation_id is None


def test_max_output_tokens_floor() -> None:
    error = error_of(body(max_output_tokens=1))
    assert (
        error.message == "Invalid 'max_output_tokens': must be greater than or equal to 16, got 1."
    )
    assert error.param == "max_output_tokens"
    assert error_of(body(max_output_tokens=15)).message.endswith("got 15.")
    turn, _ = decode(body(max_output_tokens=16))
    assert turn.settings.max_output_tokens == 16
    assert turn.request.sampling.max_tokens == 16


@pytest.mark.parametrize(
    ("fields", "message", "param"),
    [
        ({"temperature": 2.0}, "Temperature should be in [0.0, 2.0)", "temperature"),
        ({"temperature": -0.1}, "Temperature should be in [0.0, 2.0)", "temperature"),
        ({"top_p": 0.0}, "Range of top_p should be (0.0, 1.0]", "top_p"),
        ({"top_p": 1.01}, "Range of top_p should be (0.0, 1.0]", "top_p"),
        ({"top_p": -1}, "Range of top_p should be (0.0, 1.0]", "top_p"),
    ],
)
def test_sampling_ranges(fields: dict[str, Any], message: str, param: str) -> None:
    error = error_of(body(**fields))
    assert error.message == message
    assert error.param == param


@pytest.mark.parametrize(("temperature", "top_p"), [(0.0, 1.0), (1.99, 0.01), (None, None)])
def test_sampling_edges_accepted(temperature: float | None, top_p: float | None) -> None:
    turn, _ = decode(body(temperature=temperature, top_p=top_p))
    assert turn.settings.temperature == temperature == turn.request.sampling.temperature
    assert turn.settings.top_p == top_p == turn.request.sampling.top_p


def test_wire_type_errors_name_the_field() -> None:
    assert error_of(body(temperature="hot")).param == "temperature"
    missing = error_of({"input": "hello"})
    assert missing.message == "Invalid 'model': Field required."
    assert error_of(["not", "an", "object"]).message == "The request body must be a JSON object."


def test_wrong_input_type_names_input_without_a_union_tag() -> None:
    message = error_of(body(input=5)).message
    assert message.startswith("Invalid 'input'")


def test_empty_input_is_refused() -> None:
    error = error_of(body(input=[]))
    assert error.param == "input"
    assert "must not be empty" in error.message


# -- tools ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tool", "expected"),
    [
        ({"type": "web_search"}, WebSearch()),
        ({"type": "code_interpreter"}, CodeInterpreter()),
        (
            {"type": "code_interpreter", "container": {"type": "auto"}},
            CodeInterpreter(auto_container=True),
        ),
        (
            {"type": "code_interpreter", "container": "cntr_6903bf2c0a1b8190aa77"},
            CodeInterpreter(container_id="cntr_6903bf2c0a1b8190aa77"),
        ),
        ({"type": "web_search_image"}, ImageSearch(BuiltinToolKind.WEB_SEARCH_IMAGE)),
        ({"type": "image_search"}, ImageSearch(BuiltinToolKind.IMAGE_SEARCH)),
        ({"type": "file_search", "vector_store_ids": ["vs_1"]}, FileSearch(("vs_1",))),
        (
            {"type": "mcp", "server_label": "maps", "server_url": "https://mcp.example/sse"},
            Mcp(server_label="maps", server_url="https://mcp.example/sse"),
        ),
    ],
)
def test_built_in_tools_decode_with_their_options(
    tool: dict[str, Any], expected: BuiltinTool
) -> None:
    request = decode(body(tools=[WEATHER, tool]))[0].request
    assert request.builtin_tools == (expected,)
    assert [t.name for t in request.tools] == [WEATHER["name"]]


@pytest.mark.parametrize(
    "tool",
    [
        {"type": "file_search"},
        {"type": "file_search", "vector_store_ids": []},
        {"type": "file_search", "vector_store_ids": ["vs_1"], "max_num_results": 0},
        {"type": "mcp", "server_label": "maps"},
        {"type": "mcp", "server_label": "maps", "server_url": "u", "headers": {"a": 1}},
    ],
)
def test_built_in_tools_missing_what_they_need_are_refused(tool: dict[str, Any]) -> None:
    assert error_of(body(tools=[tool])).param == "tools"


@pytest.mark.parametrize(
    ("tool", "words"),
    [
        ({"type": "web_search", "search_context_size": "low"}, "'search_context_size'"),
        (
            {"type": "web_search_image", "max_results": 3},
            "web_search_image takes no options; 'max_results' is not supported.",
        ),
        ({"type": "image_search", "bbox": [0, 0, 1, 1]}, "image_search takes no options; 'bbox'"),
        (
            {"type": "code_interpreter", "container": {"type": "auto", "file_ids": []}},
            "'file_ids' is not supported",
        ),
        (
            {"type": "code_interpreter", "container": {"type": "auto", "memory_limit": "1g"}},
            "'memory_limit' is not supported",
        ),
        (
            {
                "type": "code_interpreter",
                "container": {"type": "auto", "network_policy": {"type": "disabled"}},
            },
            "'network_policy' is not supported",
        ),
        ({"type": "code_interpreter", "container": "my-box"}, "'my-box' is not a container id"),
        ({"type": "code_interpreter", "container": "cntr_"}, "'cntr_' is not a container id"),
        ({"type": "code_interpreter", "container": "cntr_a/../b"}, "is not a container id"),
        ({"type": "code_interpreter", "container": {"type": "fixed"}}, 'with type "auto"'),
        ({"type": "code_interpreter", "container": 7}, "expected a container id"),
        ({"type": "code_interpreter", "file_ids": []}, "does not support 'file_ids'"),
    ],
)
def test_built_in_tool_options_nothing_honours_are_refused(
    tool: dict[str, Any], words: str
) -> None:
    error = error_of(body(tools=[tool]))
    assert error.param == "tools"
    assert words in error.message


def test_unknown_tool_type_and_nameless_function_are_refused() -> None:
    assert "'computer'" in error_of(body(tools=[{"type": "computer"}])).message
    assert error_of(body(tools=[{"type": "function"}])).param == "tools"


def test_function_tools_become_tool_specs() -> None:
    turn, _ = decode(body(tools=[WEATHER, {**TIME, "strict": True}]))
    weather, time_ = turn.request.tools
    assert weather.name == "get_weather"
    assert weather.description == "Weather in a city"
    assert weather.parameters == WEATHER["parameters"]
    assert weather.strict is False
    assert time_.strict is True
    assert turn.settings.tools == turn.request.tools


@pytest.mark.parametrize(
    ("tool_choice", "tools", "mode", "name", "allowed"),
    [
        (None, [WEATHER], ToolChoiceMode.AUTO, None, None),
        ("auto", [WEATHER, TIME], ToolChoiceMode.AUTO, None, None),
        ("none", [WEATHER, TIME], ToolChoiceMode.NONE, None, None),
        ("required", [WEATHER], ToolChoiceMode.REQUIRED, None, None),
        (
            {"type": "function", "name": "get_time"},
            [WEATHER, TIME],
            ToolChoiceMode.NAMED,
            "get_time",
            None,
        ),
        (
            {
                "type": "allowed_tools",
                "mode": "required",
                "tools": [{"type": "function", "name": "get_time"}],
            },
            [WEATHER, TIME],
            ToolChoiceMode.REQUIRED,
            None,
            ("get_time",),
        ),
        (
            {
                "type": "allowed_tools",
                "mode": "auto",
                "tools": [{"type": "function", "name": "get_weather"}, {"name": "get_time"}],
            },
            [WEATHER, TIME],
            ToolChoiceMode.AUTO,
            None,
            ("get_weather", "get_time"),
        ),
    ],
)
def test_tool_choice_forms(
    tool_choice: Any,
    tools: list[dict[str, Any]],
    mode: ToolChoiceMode,
    name: str | None,
    allowed: tuple[str, ...] | None,
) -> None:
    turn, _ = decode(body(tools=tools, tool_choice=tool_choice))
    choice = turn.request.tool_choice
    assert (choice.mode, choice.name, choice.allowed) == (mode, name, allowed)
    assert turn.settings.tool_choice == choice


@pytest.mark.parametrize("tools", [[WEATHER, TIME], [], [WEATHER, {"type": "web_search"}]])
def test_required_needs_exactly_one_tool(tools: list[dict[str, Any]]) -> None:
    error = error_of(body(tools=tools, tool_choice="required"))
    assert error.param == "tool_choice"
    assert "exactly one tool" in error.message


def test_required_forces_a_lone_built_in_tool() -> None:
    # "Available only when there is a single tool in the tools list": a web_search is one.
    turn, _ = decode(body(tools=[{"type": "web_search"}], tool_choice="required"))
    assert turn.request.tool_choice.mode is ToolChoiceMode.REQUIRED
    assert [t.kind for t in turn.request.builtin_tools] == ["web_search"]


@pytest.mark.parametrize(
    "tool_choice",
    [
        "any",
        {"type": "function"},
        {"type": "allowed_tools", "mode": "auto", "tools": []},
        {"type": "web_search"},
    ],
)
def test_invalid_tool_choice(tool_choice: Any) -> None:
    error = error_of(body(tools=[WEATHER], tool_choice=tool_choice))
    assert error.param == "tool_choice"


def test_parallel_tool_calls_defaults_to_true() -> None:
    assert decode(body())[0].settings.parallel_tool_calls is True
    turn, _ = decode(body(parallel_tool_calls=False))
    assert turn.settings.parallel_tool_calls is False
    assert turn.request.parallel_tool_calls is False


# -- thinking ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("effort", "thinks"),
    [
        ("none", False),
        ("minimal", False),
        ("low", True),
        ("medium", True),
        ("high", True),
        ("xhigh", True),
        ("max", True),
    ],
)
def test_reasoning_effort_values(effort: str, thinks: bool) -> None:
    turn, _ = decode(body(reasoning={"effort": effort}))
    assert turn.request.thinking.enabled is thinks
    assert turn.settings.thinking == turn.request.thinking


@pytest.mark.parametrize(("effort", "enable_thinking"), [("none", True), ("high", False)])
def test_reasoning_effort_wins_over_enable_thinking(effort: str, enable_thinking: bool) -> None:
    turn, _ = decode(body(reasoning={"effort": effort}, enable_thinking=enable_thinking))
    assert turn.request.thinking.enabled is (not enable_thinking)


@pytest.mark.parametrize("enable_thinking", [True, False, None])
def test_enable_thinking_alone(enable_thinking: bool | None) -> None:
    turn, _ = decode(body(enable_thinking=enable_thinking))
    assert turn.request.thinking.enabled is enable_thinking


def test_reasoning_without_effort_leaves_enable_thinking() -> None:
    turn, _ = decode(body(reasoning={"summary": "auto"}, enable_thinking=True))
    assert turn.request.thinking.enabled is True


def test_unknown_effort_is_refused() -> None:
    error = error_of(body(reasoning={"effort": "extreme"}))
    assert error.param == "reasoning"
    assert error.message.startswith("Invalid 'reasoning.effort'")
    assert "none, minimal, low, medium, high, xhigh, max" in error.message


# -- input ------------------------------------------------------------------------------


def test_string_input_is_one_user_message() -> None:
    turn, _ = decode(body(input="what is up"))
    (item,) = turn.input_items
    assert item.id.startswith("msg_")
    assert item.message.role is Role.USER
    assert item.message.parts == (TextPart("what is up"),)
    assert turn.request.messages == (item.message,)


def test_message_items_with_every_content_part() -> None:
    items = [
        {"role": "developer", "content": "be terse"},
        {"role": "system", "content": [{"type": "input_text", "text": "really"}]},
        {
            "type": "message",
            "role": "user",
            "content": [
                {"type": "input_text", "text": "what is this"},
                {"type": "input_image", "image_url": "https://x.test/a.png", "detail": "low"},
            ],
        },
        {
            "id": "msg_kept",
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "a cat", "annotations": []}],
        },
        {"role": "user", "content": "thanks"},
    ]
    turn, _ = decode(body(input=items))
    messages = [item.message for item in turn.input_items]
    assert [m.role for m in messages] == [
        Role.SYSTEM,
        Role.SYSTEM,
        Role.USER,
        Role.ASSISTANT,
        Role.USER,
    ]
    assert messages[0].parts == (TextPart("be terse"),)
    assert messages[1].parts == (TextPart("really"),)
    assert messages[2].parts == (
        TextPart("what is this"),
        ImagePart("https://x.test/a.png", "low"),
    )
    assert messages[3].parts == (TextPart("a cat"),)
    assert turn.input_items[3].id == "msg_kept"
    assert all(i.id.startswith("msg_") for i in turn.input_items)
    assert turn.request.messages == tuple(messages)


def test_function_call_and_its_output() -> None:
    items = [
        {"role": "user", "content": "weather in Paris?"},
        {
            "type": "function_call",
            "call_id": "call_1",
            "name": "get_weather",
            "arguments": '{"city": "Paris"}',
        },
        {"type": "function_call_output", "call_id": "call_1", "output": "sunny"},
        {
            "type": "function_call_output",
            "id": "fco_kept",
            "call_id": "call_2",
            "output": [{"type": "input_text", "text": "rain"}, {"type": "input_text", "text": "y"}],
        },
    ]
    turn, _ = decode(body(input=items, tools=[WEATHER]))
    _, call, output, listed = turn.input_items
    assert call.id.startswith("fc_")
    assert call.message.role is Role.ASSISTANT
    assert call.message.parts == (
        ToolCallPart(id="call_1", name="get_weather", arguments='{"city": "Paris"}'),
    )
    assert output.id.startswith("fco_")
    assert output.message.role is Role.TOOL
    (result,) = output.message.parts
    assert isinstance(result, ToolResultPart)
    assert result.tool_call_id == "call_1" and result.text == "sunny"
    assert listed.id == "fco_kept"
    assert listed.message.parts[0].text == "rainy"  # type: ignore[union-attr]


def test_function_call_without_arguments_gets_an_empty_object() -> None:
    turn, _ = decode(body(input=[{"type": "function_call", "call_id": "c", "name": "f"}]))
    assert turn.input_items[0].message.parts == (ToolCallPart(id="c", name="f", arguments="{}"),)


@pytest.mark.parametrize(
    "item",
    [
        {"type": "function_call", "name": "f", "arguments": "{}"},
        {"type": "function_call", "call_id": "c", "arguments": "{}"},
        {"type": "function_call_output", "output": "x"},
    ],
)
def test_incomplete_function_items_are_refused(item: dict[str, Any]) -> None:
    error = error_of(body(input=[item]))
    assert error.param == "input"
    assert error.message.startswith("Invalid 'input[0]'")


def test_reasoning_items() -> None:
    items = [
        {"role": "user", "content": "hi"},
        {
            "type": "reasoning",
            "id": "rs_kept",
            "summary": [{"type": "summary_text", "text": "they said hi"}],
        },
        {"type": "reasoning", "summary": [], "content": [{"type": "reasoning_text", "text": "x"}]},
    ]
    turn, _ = decode(body(input=items))
    _, summary, content = turn.input_items
    assert summary.id == "rs_kept"
    assert summary.message.role is Role.ASSISTANT
    assert summary.message.parts == (ReasoningPart("they said hi"),)
    assert content.id.startswith("rs_")
    assert content.message.parts == (ReasoningPart("x"),)


@pytest.mark.parametrize(
    ("item", "fragment"),
    [
        ({"type": "item_reference", "id": "msg_1"}, "'item_reference' items are not supported"),
        ({"type": "mcp_call", "id": "mcp_1"}, "an mcp_call item needs server_label"),
        ({"type": "code_interpreter_call", "code": 5}, "'input[1].code': expected a string"),
        ({"type": "web_search_call", "action": []}, "'input[1].action': expected an object"),
        ({"role": "tool", "content": "x"}, "role"),
        ({"content": "no role"}, "role"),
        (
            {"role": "user", "content": [{"type": "input_file", "file_id": "f"}]},
            "'input_file' is not supported",
        ),
        (
            {"role": "user", "content": [{"type": "input_image", "file_id": "f"}]},
            "'input_image' is not supported",
        ),
    ],
)
def test_unsupported_items_are_refused(item: dict[str, Any], fragment: str) -> None:
    error = error_of(body(input=[{"role": "user", "content": "hi"}, item]))
    assert error.param == "input"
    assert error.message.startswith("Invalid 'input[1]")
    assert fragment in error.message


# -- settings ---------------------------------------------------------------------------


def test_instructions_stay_in_settings_not_in_the_messages() -> None:
    turn, wire = decode(body(instructions="answer in French"))
    assert turn.settings.instructions == "answer in French"
    assert [m.role for m in turn.request.messages] == [Role.USER]
    assert wire.instructions == "answer in French"


def test_store_defaults_to_true() -> None:
    assert decode(body())[0].settings.store is True
    assert decode(body(store=None))[0].settings.store is True
    assert decode(body(store=False))[0].settings.store is False


def test_the_turn_has_a_fresh_response_id_and_its_settings() -> None:
    first, wire = decode(body(stream=True, metadata={"k": "v"}, unknown_field=1))
    second, _ = decode(body())
    assert first.response_id.startswith("resp_")
    assert first.response_id != second.response_id
    assert first.created_at > 0
    assert first.request.model == "qwen-plus"
    assert first.settings.metadata == {"k": "v"}
    assert wire.stream is True
    assert second.settings.metadata == {}


# -- required fields and metadata bounds ------------------------------------------------


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"role": "user"}, "Missing required parameter: 'input[0].content'."),
        (
            {"type": "message", "role": "user", "content": None},
            "Missing required parameter: 'input[0].content'.",
        ),
        (
            {"type": "function_call_output", "call_id": "call_1"},
            "Missing required parameter: 'input[0].output'.",
        ),
    ],
)
def test_an_item_without_its_content_is_refused(item: dict[str, Any], message: str) -> None:
    error = error_of(body(input=[item]))
    assert (error.message, error.param) == (message, "input")


def test_metadata_within_openais_bounds() -> None:
    pairs = {f"{i:064d}": "v" * 512 for i in range(16)}
    turn, _ = decode(body(metadata=pairs))
    assert turn.settings.metadata == pairs


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        (
            {f"k{i}": "v" for i in range(17)},
            "Invalid 'metadata': too many properties. Expected an object with at most 16 "
            "properties, but got an object with 17 properties instead.",
        ),
        (
            {"k" * 65: "v"},
            "Invalid 'metadata': key too long. Expected a key with maximum length 64, but got "
            "a key with length 65 instead.",
        ),
        (
            {"k": "v" * 513},
            "Invalid 'metadata.k': string too long. Expected a string with maximum length 512, "
            "but got a string with length 513 instead.",
        ),
    ],
)
def test_metadata_past_openais_bounds(pairs: dict[str, str], message: str) -> None:
    error = error_of(body(metadata=pairs))
    assert (error.message, error.param) == (message, "metadata")


@pytest.mark.parametrize("value", [1, True, None, ["a"], {"b": "c"}])
def test_metadata_values_are_strings(value: Any) -> None:
    error = error_of(body(metadata={"k": value}))
    assert error.message.startswith("Invalid 'metadata.k': Input should be a valid string")


def test_web_extractor_needs_web_search_beside_it() -> None:
    error = error_of(body(tools=[{"type": "web_extractor"}]))
    assert error.param == "tools"
    assert "web_extractor must be used together with web_search" in error.message
    turn, _ = decode(body(tools=[{"type": "web_search"}, {"type": "web_extractor"}]))
    assert [str(t.kind) for t in turn.request.builtin_tools] == ["web_search", "web_extractor"]
