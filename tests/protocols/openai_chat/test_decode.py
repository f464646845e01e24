"""Validation messages of the Chat Completions decoder (shared/spec/BEHAVIOUR.md)."""

from typing import Any

import pytest

from openscope.core.builtin_tools import CodeInterpreter, WebSearch
from openscope.core.errors import InvalidParameter
from openscope.core.messages import Role, ToolResultPart
from openscope.core.request import ResponseFormatType, ToolChoiceMode
from openscope.protocols.openai_chat.decode import decode

USER = {"role": "user", "content": "hi"}


def body(**fields: Any) -> dict[str, Any]:
    return {"model": "qwen-plus", "messages": [USER], **fields}


def error_of(payload: Any) -> InvalidParameter:
    with pytest.raises(InvalidParameter) as caught:
        decode(payload)
    return caught.value


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"temperature": 2.0}, "Temperature should be in [0.0, 2.0)"),
        ({"temperature": -0.1}, "Temperature should be in [0.0, 2.0)"),
        ({"top_p": 0}, "Range of top_p should be (0.0, 1.0]"),
        ({"top_p": 1.01}, "Range of top_p should be (0.0, 1.0]"),
        ({"top_k": -1}, "Parameter top_k be greater than or equal to 0"),
        ({"presence_penalty": 2.5}, "Presence_penalty should be in [-2.0, 2.0]"),
        ({"n": 5}, "Range of n should be [1, 4]"),
        ({"n": 0}, "Range of n should be [1, 4]"),
        ({"seed": -1}, "Range of seed should be [0, 2147483647]"),
        ({"seed": 2**31}, "Range of seed should be [0, 2147483647]"),
        ({"logprobs": True, "top_logprobs": 6}, "Range of top_logprobs should be [0, 5]"),
        (
            {"tool_choice": "sometimes"},
            'tool_choice is one of the strings that should be ["none", "auto"]',
        ),
        (
            {"response_format": {"type": "json_object"}},
            "'messages' must contain the word 'json' in some form, to use 'response_format' "
            "of type 'json_object'.",
        ),
    ],
)
def test_range_and_rule_messages(fields: dict[str, Any], message: str) -> None:
    assert error_of(body(**fields)).message == message


def test_range_edges_are_accepted() -> None:
    request, _ = decode(
        body(temperature=0, top_p=1.0, top_k=0, presence_penalty=-2.0, n=4, seed=2**31 - 1)
    )
    assert request.sampling.n == 4
    assert request.sampling.seed == 2**31 - 1


def test_max_completion_tokens_is_the_newer_name_of_max_tokens() -> None:
    assert decode(body(max_completion_tokens=7))[0].sampling.max_tokens == 7
    assert decode(body(max_tokens=5, max_completion_tokens=7))[0].sampling.max_tokens == 5


def test_top_k_above_100_turns_top_k_off() -> None:
    request, _ = decode(body(top_k=101))
    assert request.sampling.top_k == 0


def test_system_only_first() -> None:
    payload = {"model": "m", "messages": [USER, {"role": "system", "content": "late"}]}
    assert "first message" in error_of(payload).message


def test_tool_message_needs_a_preceding_tool_call() -> None:
    payload = {"model": "m", "messages": [USER, {"role": "tool", "content": "42"}]}
    assert error_of(payload).message == (
        'messages with role "tool" must be a response to a preceeding message with "tool_calls"'
    )


def test_at_least_one_user_message() -> None:
    payload = {"model": "m", "messages": [{"role": "system", "content": "s"}]}
    assert error_of(payload).message == (
        "The input messages do not contain elements with the role of user."
    )


def test_json_word_is_case_insensitive() -> None:
    payload = body(response_format={"type": "json_object"})
    payload["messages"] = [{"role": "user", "content": "Answer in JSON please"}]
    request, _ = decode(payload)
    assert request.response_format.type is ResponseFormatType.JSON_OBJECT


def test_type_errors_name_the_parameter() -> None:
    error = error_of(body(temperature="hot"))
    assert error.param == "temperature"
    assert "temperature" in error.message


def test_malformed_body_shape() -> None:
    assert error_of([1, 2]).message == "The request body must be a JSON object."
    assert error_of({"messages": [USER]}).param == "model"


def test_unlisted_parameters_are_ignored() -> None:
    request, _ = decode(body(frequency_penalty=1.0, user="u", metadata={"a": 1}))
    assert request.model == "qwen-plus"


def test_stop_forms() -> None:
    assert decode(body(stop="x"))[0].sampling.stop == ("x",)
    assert decode(body(stop=["a", "b"]))[0].sampling.stop == ("a", "b")
    assert decode(body(stop=[7, [8, 9]]))[0].sampling.stop_token_ids == ((7,), (8, 9))
    assert "mix" in error_of(body(stop=["a", 7])).message


def test_tool_round_trip_by_name_as_the_seed_example_does() -> None:
    payload = body(
        tools=[{"type": "function", "function": {"name": "get_current_time", "parameters": {}}}]
    )
    payload["messages"] = [
        USER,
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_current_time", "arguments": "{}"},
                }
            ],
        },
        {"role": "tool", "name": "get_current_time", "content": "noon"},
    ]
    request, _ = decode(payload)
    tool_message = request.messages[-1]
    assert tool_message.role is Role.TOOL
    (result,) = tool_message.parts
    assert isinstance(result, ToolResultPart)
    assert (result.tool_call_id, result.text) == ("call_1", "noon")


def test_tool_choice_forms() -> None:
    named = {"type": "function", "function": {"name": "f"}}
    assert decode(body(tool_choice=named))[0].tool_choice.mode is ToolChoiceMode.NAMED
    assert decode(body(tool_choice="none"))[0].tool_choice.mode is ToolChoiceMode.NONE


def test_extension_parameters_reach_the_core() -> None:
    request, _ = decode(
        body(
            enable_thinking=True,
            thinking_budget=100,
            enable_search=True,
            search_options={"forced_search": True},
            enable_code_interpreter=True,
            stream=True,
            modalities=["text", "audio"],
        )
    )
    assert request.thinking.enabled is True
    assert request.thinking.budget_tokens == 100
    assert request.builtin_tools == (
        WebSearch(options={"forced_search": True}, by_strategy=True),
        CodeInterpreter(requires_thinking=True),  # Chat runs it only in thinking mode
    )
    assert request.output_modalities == ("text", "audio")


CALL = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}


@pytest.mark.parametrize(
    ("messages", "position"),
    [
        ([{"role": "user"}], 0),
        ([{"role": "user", "content": None}], 0),
        ([{"role": "system"}, USER], 0),
        ([USER, {"role": "assistant"}, USER], 1),
        ([USER, {"role": "assistant", "tool_calls": []}, USER], 1),
        ([USER, {"role": "assistant", "tool_calls": [CALL]}, {"role": "tool"}], 2),
    ],
)
def test_a_message_without_content_is_refused(messages: list[Any], position: int) -> None:
    error = error_of({"model": "qwen-plus", "messages": messages})
    assert error.message == f"Missing required parameter: 'messages[{position}].content'."
    assert error.param == "messages"


def test_an_assistant_message_with_tool_calls_needs_no_content() -> None:
    tool = {"role": "tool", "tool_call_id": "call_1", "content": "42"}
    request, _ = decode(body(messages=[USER, {"role": "assistant", "tool_calls": [CALL]}, tool]))
    assert [p.id for p in request.messages[1].tool_calls] == ["call_1"]


# partial mode

PREFIX = {"role": "assistant", "content": "def fib(n):\n", "partial": True}


def test_a_partial_last_assistant_message_is_continued() -> None:
    request, _ = decode(body(messages=[USER, PREFIX]))
    assert request.partial
    assert request.messages[-1].role is Role.ASSISTANT
    assert request.messages[-1].text == "def fib(n):\n"


def test_without_partial_the_assistant_message_is_a_closed_turn() -> None:
    for last in ({**PREFIX, "partial": False}, {"role": "assistant", "content": "Hi"}):
        request, _ = decode(body(messages=[USER, last]))
        assert not request.partial


@pytest.mark.parametrize(
    ("messages", "position"),
    [
        ([USER, PREFIX, USER], 1),
        ([{**USER, "partial": True}], 0),
        ([USER, {**PREFIX, "content": None, "tool_calls": [CALL]}], 1),
    ],
)
def test_partial_is_refused_where_nothing_can_continue(messages: list[Any], position: int) -> None:
    error = error_of(body(messages=messages))
    assert error.message.startswith(f"Invalid 'messages[{position}].partial': only the last")
    assert error.param == "messages"


def test_partial_decodes_whatever_the_thinking_switch_says() -> None:
    # whether thinking allows partial mode is the core rules' to say (tests/core/rules)
    request, _ = decode(body(messages=[USER, PREFIX], enable_thinking=True))
    assert request.partial and request.thinking.enabled


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"forced_search": "true"}, "forced_search must be true or false"),
        ({"search_strategy": "deep"}, "search_strategy must be one of turbo, max, agent"),
        ({"citation_format": "<n>"}, "citation_format must be one of"),
        ({"freshness": 0}, "freshness must be a positive number of days"),
        ({"freshness": True}, "freshness must be a positive number of days"),
        ({"assigned_site_list": "a.com"}, "assigned_site_list must be a list"),
        ({"assigned_site_list": [f"s{i}.com" for i in range(26)]}, "at most 25 sites"),
    ],
)
def test_bad_search_options_are_refused_when_the_request_comes_in(
    options: dict[str, Any], problem: str
) -> None:
    error = error_of(body(enable_search=True, search_options=options))
    assert error.param == "search_options"
    assert problem in error.message


def test_sound_search_options_pass_on_as_given() -> None:
    options = {
        "forced_search": True,
        "search_strategy": "max",
        "freshness": 7,
        "assigned_site_list": ["a.com"],
        "citation_format": "[ref_<number>]",
        "some_future_option": 1,
    }
    request, _ = decode(body(enable_search=True, search_options=options))
    assert request.builtin_tools == (WebSearch(options=options, by_strategy=True),)


@pytest.mark.parametrize(
    ("strategy", "searches"), [(None, 1), ("turbo", 1), ("max", 1), ("agent", 3), ("agent_max", 5)]
)
def test_the_strategy_bounds_the_searches_of_an_answer(strategy: str | None, searches: int) -> None:
    options = {} if strategy is None else {"search_strategy": strategy}
    request, _ = decode(body(enable_search=True, search_options=options, stream=True))
    search = request.builtin_tools[0]
    assert isinstance(search, WebSearch) and search.most_searches == searches


def test_agent_max_reads_the_pages_it_finds_and_streams_only() -> None:
    options = {"search_strategy": "agent_max"}
    request, _ = decode(body(enable_search=True, search_options=options, stream=True))
    assert [tool.kind for tool in request.builtin_tools] == ["web_search", "web_extractor"]
    error = error_of(body(enable_search=True, search_options=options))
    assert error.param == "search_options"
    assert error.message == (
        "The agent_max search strategy supports only streaming output: set stream to true."
    )


# -- enable_code_interpreter (builtin-tools.md §2) -------------------------------------------


@pytest.mark.parametrize("stream", [None, False])
def test_the_code_interpreter_needs_streaming(stream: bool | None) -> None:
    fields: dict[str, Any] = {"enable_code_interpreter": True, "enable_thinking": True}
    if stream is not None:
        fields["stream"] = stream
    error = error_of(body(**fields))
    assert error.param == "enable_code_interpreter"
    assert error.message == (
        "enable_code_interpreter supports only streaming output: set stream to true."
    )


def test_the_code_interpreter_is_not_beside_function_tools() -> None:
    tools = [{"type": "function", "function": {"name": "f", "parameters": {}}}]
    error = error_of(body(enable_code_interpreter=True, stream=True, tools=tools))
    assert error.param == "enable_code_interpreter"
    assert error.message == (
        "enable_code_interpreter cannot be used together with function calling: send either "
        "tools or enable_code_interpreter."
    )


def test_the_code_interpreter_off_asks_nothing() -> None:
    tools = [{"type": "function", "function": {"name": "f", "parameters": {}}}]
    request, _ = decode(body(enable_code_interpreter=False, tools=tools))
    assert request.builtin_tools == ()
    # and an empty tools list is no function calling
    request, _ = decode(body(enable_code_interpreter=True, stream=True, tools=[]))
    assert request.builtin_tools == (CodeInterpreter(requires_thinking=True),)


def test_vl_high_resolution_images_reaches_the_core() -> None:
    assert decode(body(vl_high_resolution_images=True))[0].high_resolution_images is True
    assert decode(body())[0].high_resolution_images is False


def test_audio_and_images_keep_where_the_client_put_them() -> None:
    from openscope.core.messages import AudioPart, ImagePart

    content = [
        {"type": "text", "text": "compare"},
        {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
        {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
    ]
    request, _ = decode(body(messages=[{"role": "user", "content": content}]))
    image, audio = request.messages[0].parts[1:]
    assert image == ImagePart("https://example.com/a.png")
    assert image.origin == "messages[0].content[1].image_url"  # type: ignore[union-attr]
    assert audio == AudioPart("UklGRg==", "wav")
    assert audio.origin == "messages[0].content[2].input_audio"  # type: ignore[union-attr]


def test_a_spoken_answer_is_asked_for_with_modalities_and_audio() -> None:
    from openscope.core.request import AudioOutput

    voice = {"voice": "Cherry", "format": "wav"}
    request, _ = decode(body(modalities=["text", "audio"], audio=voice))
    assert request.output_modalities == ("text", "audio")
    assert request.audio == AudioOutput("Cherry", "wav")
    for fields, param in [
        ({"audio": voice}, "audio"),  # Model Studio: audio needs modalities ["text","audio"]
        ({"modalities": ["text", "audio"], "audio": {"format": "wav"}}, "audio"),
        ({"modalities": ["audio"]}, "modalities"),
        ({"modalities": ["text", "video"]}, "modalities"),
    ]:
        with pytest.raises(InvalidParameter) as refused:
            decode(body(**fields))
        assert refused.value.param == param, fields
