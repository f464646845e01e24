from typing import Any

import pytest

from openscope.core.errors import InvalidParameter
from openscope.core.messages import (
    CacheControl,
    ImagePart,
    ReasoningPart,
    Role,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from openscope.core.request import ToolChoiceMode
from openscope.protocols.anthropic_messages.decode import decode, decode_count_tokens

USER = {"role": "user", "content": "hi"}


def body(**fields: Any) -> dict[str, Any]:
    return {"model": "qwen-plus", "max_tokens": 16, "messages": [USER], **fields}


def error_of(payload: Any) -> str:
    with pytest.raises(InvalidParameter) as caught:
        decode(payload)
    return caught.value.message


def test_max_tokens_is_required() -> None:
    payload = body()
    del payload["max_tokens"]
    assert error_of(payload).startswith("max_tokens: Field required")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"temperature": 2.0}, "Temperature should be in [0.0, 2.0)"),
        ({"top_p": 0}, "Range of top_p should be (0.0, 1.0]"),
        ({"top_k": -1}, "Parameter top_k be greater than or equal to 0"),
        ({"max_tokens": 0}, "max_tokens: must be greater than or equal to 1"),
    ],
)
def test_ranges(fields: dict[str, Any], message: str) -> None:
    assert error_of(body(**fields)) == message


def test_temperature_beyond_anthropics_range_is_accepted() -> None:
    request, _ = decode(body(temperature=1.5))
    assert request.sampling.temperature == 1.5


@pytest.mark.parametrize(("asked", "sampled"), [(100, 100), (101, 0), (200, 0)])
def test_top_k_above_100_turns_top_k_off_as_in_chat(asked: int, sampled: int) -> None:
    request, _ = decode(body(top_k=asked))
    assert request.sampling.top_k == sampled


def test_system_role_in_messages_is_refused() -> None:
    payload = body(messages=[{"role": "system", "content": "s"}, USER])
    assert 'Unexpected role "system"' in error_of(payload)


def test_system_string_and_blocks_with_cache_control() -> None:
    request, _ = decode(body(system="be brief"))
    assert request.messages[0].role is Role.SYSTEM
    assert request.messages[0].text == "be brief"
    blocks = [
        {"type": "text", "text": "long context"},
        {"type": "text", "text": "rules", "cache_control": {"type": "ephemeral"}},
    ]
    request, _ = decode(body(system=blocks))
    assert request.messages[0].parts == (
        TextPart("long context"),
        TextPart("rules", cache_control=CacheControl("ephemeral")),
    )
    assert "ephemeral" in error_of(
        body(system=[{"type": "text", "text": "x", "cache_control": {"type": "permanent"}}])
    )


EPHEMERAL = {"type": "ephemeral"}


def test_tool_use_and_tool_result_blocks_carry_their_cache_markers() -> None:
    messages = [
        USER,
        {
            "role": "assistant",
            "content": [
                {
                    "type": "tool_use",
                    "id": "t1",
                    "name": "f",
                    "input": {},
                    "cache_control": EPHEMERAL,
                }
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "t1",
                    "content": "42",
                    "cache_control": EPHEMERAL,
                }
            ],
        },
    ]
    request, _ = decode(body(messages=messages))
    call = request.messages[1].parts[0]
    result = request.messages[2].parts[0]
    assert isinstance(call, ToolCallPart) and call.cache_control == CacheControl()
    assert isinstance(result, ToolResultPart) and result.cache_control == CacheControl()


def test_a_marker_inside_a_tool_result_marks_the_result() -> None:
    inner = [{"type": "text", "text": "42", "cache_control": EPHEMERAL}]
    result_block = {"type": "tool_result", "tool_use_id": "t1", "content": inner}
    call = {"type": "tool_use", "id": "t1", "name": "f", "input": {}}
    messages = [
        USER,
        {"role": "assistant", "content": [call]},
        {"role": "user", "content": [result_block]},
    ]
    request, _ = decode(body(messages=messages))
    result = request.messages[2].parts[0]
    assert isinstance(result, ToolResultPart) and result.cache_control == CacheControl()


@pytest.mark.parametrize(("ttl", "seconds"), [("5m", 300), ("1h", 3600), (None, None)])
def test_cache_ttl_is_read_in_seconds(ttl: str | None, seconds: int | None) -> None:
    control = {"type": "ephemeral", "ttl": ttl} if ttl else EPHEMERAL
    request, _ = decode(body(system=[{"type": "text", "text": "x", "cache_control": control}]))
    assert request.messages[0].parts[0] == TextPart(
        "x", cache_control=CacheControl(ttl_seconds=seconds)
    )


def test_a_cache_ttl_other_than_5m_or_1h_is_refused() -> None:
    control = {"type": "ephemeral", "ttl": "10m"}
    message = error_of(body(system=[{"type": "text", "text": "x", "cache_control": control}]))
    assert message == "cache_control.ttl: must be '5m' or '1h', got '10m'"


def test_blocks_map_to_core_parts() -> None:
    messages = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "weather?"},
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"},
                },
            ],
        },
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "need a tool", "signature": "sig"},
                {"type": "text", "text": "Let me check."},
                {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "X"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"},
                {"type": "text", "text": "thanks"},
            ],
        },
    ]
    request, _ = decode(body(messages=messages))
    user, assistant, tool, follow_up = request.messages
    assert user.parts == (TextPart("weather?"), ImagePart("data:image/png;base64,AAAA"))
    assert assistant.parts == (
        ReasoningPart("need a tool", signature="sig"),
        TextPart("Let me check."),
        ToolCallPart(id="toolu_1", name="weather", arguments='{"city": "X"}'),
    )
    assert tool.role is Role.TOOL
    assert tool.parts == (ToolResultPart("toolu_1", (TextPart("sunny"),)),)
    assert follow_up.role is Role.USER and follow_up.text == "thanks"


def test_thinking_tools_and_choice() -> None:
    tools = [{"name": "weather", "description": "d", "input_schema": {"type": "object"}}]
    request, _ = decode(
        body(
            thinking={"type": "enabled", "budget_tokens": 1024},
            tools=tools,
            tool_choice={"type": "tool", "name": "weather", "disable_parallel_tool_use": True},
            stop_sequences=["END"],
        )
    )
    assert request.thinking.enabled is True and request.thinking.budget_tokens == 1024
    assert request.tools[0].name == "weather"
    assert request.tool_choice.mode is ToolChoiceMode.NAMED
    assert request.parallel_tool_calls is False
    assert request.sampling.stop == ("END",)
    assert decode(body(tool_choice={"type": "any"}))[0].tool_choice.mode is (
        ToolChoiceMode.REQUIRED
    )
    assert decode(body(thinking={"type": "disabled"}))[0].thinking.enabled is False


@pytest.mark.parametrize(("given", "used"), [("low", "high"), ("medium", "high"), ("xhigh", "max")])
def test_effort_mapping(given: str, used: str) -> None:
    request, _ = decode(body(output_config={"effort": given}))
    assert request.thinking.effort == used


def test_unknown_effort() -> None:
    assert "output_config.effort" in error_of(body(output_config={"effort": "extreme"}))


def test_server_tools_but_web_search_are_refused() -> None:
    tools = [{"type": "web_fetch_20250910", "name": "web_fetch"}]
    assert "server tool type 'web_fetch_20250910' is not supported" in error_of(body(tools=tools))


def test_count_tokens_needs_no_max_tokens() -> None:
    request = decode_count_tokens({"model": "m", "messages": [USER], "system": "s"})
    assert [m.role for m in request.messages] == [Role.SYSTEM, Role.USER]


EMPTY_CONTENT = (
    "all messages must have non-empty content except for the optional final assistant message"
)


@pytest.mark.parametrize(
    ("messages", "position"),
    [
        ([{"role": "user", "content": []}], 0),
        ([USER, {"role": "assistant", "content": []}, USER], 1),
    ],
)
def test_a_turn_with_no_content_blocks_is_refused(messages: list[Any], position: int) -> None:
    assert error_of(body(messages=messages)) == f"messages.{position}: {EMPTY_CONTENT}"


def test_the_final_assistant_turn_may_be_empty() -> None:
    request, _ = decode(body(messages=[USER, {"role": "assistant", "content": []}]))
    assert [m.role for m in request.messages] == [Role.USER, Role.ASSISTANT]


def test_counting_tokens_applies_the_size_bounds() -> None:
    tools = [{"name": f"f{i}", "input_schema": {"type": "object"}} for i in range(129)]
    with pytest.raises(InvalidParameter) as caught:
        decode_count_tokens({"model": "m", "messages": [USER], "tools": tools})
    assert caught.value.message == "The number of tools must not exceed 128."


def test_metadata_holds_a_bounded_user_id_and_nothing_else() -> None:
    base = {
        "model": "qwen-plus",
        "max_tokens": 16,
        "messages": [{"role": "user", "content": "hi"}],
    }
    decode({**base, "metadata": {"user_id": "u-1"}})
    for metadata in ({"user_id": "u" * 257}, {"session": "s"}, {"user_id": {"deep": 1}}):
        with pytest.raises(InvalidParameter) as caught:
            decode({**base, "metadata": metadata})
        assert "metadata" in caught.value.message
