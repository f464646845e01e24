"""Anthropic's `web_search_20250305` in a request: the tool checked as Anthropic checks it
and turned into the core's `WebSearch`, and an earlier answer's server tool blocks handed
back as the built-in parts they were."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from openscope.core.builtin_tools import BuiltinToolKind, UserLocation, WebSearch
from openscope.core.errors import InvalidParameter
from openscope.core.messages import BuiltinCallPart, BuiltinResultPart, Role, TextPart
from openscope.core.request import ToolChoice, ToolChoiceMode
from openscope.protocols.anthropic_messages.decode import decode

USER = {"role": "user", "content": "Who built the Bell Rock Lighthouse?"}
SEARCH = {"type": "web_search_20250305", "name": "web_search"}


def body(*tools: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"model": "qwen-plus", "max_tokens": 16, "messages": [USER], "tools": list(tools)} | (
        fields
    )


def search_of(payload: dict[str, Any]) -> WebSearch:
    (tool,) = decode(payload)[0].builtin_tools
    assert isinstance(tool, WebSearch)
    return tool


def error_of(payload: dict[str, Any]) -> str:
    with pytest.raises(InvalidParameter) as caught:
        decode(payload)
    assert caught.value.param in ("tools", "messages", "tool_choice")
    return caught.value.message


def test_the_bare_tool_is_a_web_search_with_no_limits() -> None:
    request = decode(body(SEARCH))[0]
    assert request.tools == ()  # not a client function
    assert request.builtin_tools == (WebSearch(),)
    assert request.tool_choice == ToolChoice()


def test_every_option_reaches_the_web_search() -> None:
    location = {"type": "approximate", "city": "Hangzhou", "region": "Zhejiang"}
    location |= {"country": "CN", "timezone": "Asia/Shanghai"}
    tool = search_of(body(SEARCH | {"max_uses": 3, "user_location": location}))
    assert tool.max_uses == 3
    assert tool.user_location == UserLocation("Hangzhou", "Zhejiang", "CN", "Asia/Shanghai")
    allowed = search_of(body(SEARCH | {"allowed_domains": ["Example.org", "docs.python.org"]}))
    assert allowed.options == {"assigned_site_list": ["example.org", "docs.python.org"]}
    blocked = search_of(body(SEARCH | {"blocked_domains": ["spam.example"]}))
    assert blocked.blocked_sites == ("spam.example",) and blocked.options == {}


def test_a_tool_choice_naming_the_tool_forces_the_search() -> None:
    request = decode(body(SEARCH, tool_choice={"type": "tool", "name": "web_search"}))[0]
    (tool,) = request.builtin_tools
    assert isinstance(tool, WebSearch) and tool.forced
    assert request.tool_choice == ToolChoice()  # the loop forces the first turn only
    # "any" with only the server tool: the model must call it (the loop offers it)
    anyone = decode(body(SEARCH, tool_choice={"type": "any"}))[0]
    assert anyone.tool_choice.mode is ToolChoiceMode.REQUIRED


def test_forcing_the_search_while_thinking_is_refused_as_forcing_a_function_is() -> None:
    forced = {"tool_choice": {"type": "tool", "name": "web_search"}}
    thinking = {"thinking": {"type": "enabled", "budget_tokens": 1024}}
    message = error_of(body(SEARCH, **forced, **thinking))
    assert message == (
        "The tool_choice parameter does not support being set to required or object in "
        "thinking mode"
    )
    # thinking without forcing the search is fine
    assert decode(body(SEARCH, **thinking))[0].builtin_tools == (WebSearch(),)


def test_the_server_tool_and_a_client_tool_mix() -> None:
    weather = {"name": "get_weather", "input_schema": {"type": "object"}}
    request = decode(body(weather, SEARCH))[0]
    assert [t.name for t in request.tools] == ["get_weather"]
    assert [t.kind for t in request.builtin_tools] == [BuiltinToolKind.WEB_SEARCH]


@pytest.mark.parametrize(
    ("tool", "message"),
    [
        (SEARCH | {"name": "search"}, "web_search_20250305.name: Input should be 'web_search'"),
        (
            SEARCH | {"max_uses": 0},
            "0.web_search_20250305.max_uses: Input should be greater than or equal to 1",
        ),
        (SEARCH | {"max_uses": -2}, "max_uses: Input should be greater than or equal to 1"),
        (SEARCH | {"max_uses": "3"}, "max_uses: Input should be a valid integer"),
        (SEARCH | {"max_uses": True}, "max_uses: Input should be a valid integer"),
        (
            SEARCH | {"allowed_domains": ["a.com"], "blocked_domains": ["b.com"]},
            "web_search_20250305: allowed_domains and blocked_domains cannot be used together",
        ),
        (
            SEARCH | {"allowed_domains": "a.com"},
            "allowed_domains: Input should be a valid list of strings",
        ),
        (
            SEARCH | {"blocked_domains": [1]},
            "blocked_domains: Input should be a valid list of strings",
        ),
        (
            SEARCH | {"allowed_domains": ["example.com/blog"]},
            "allowed_domains.0: 'example.com/blog': domains with a path are not supported",
        ),
        (SEARCH | {"blocked_domains": ["  "]}, "blocked_domains.0: '  ' is not a domain"),
        (
            SEARCH | {"allowed_domains": [f"s{i}.com" for i in range(26)]},
            "allowed_domains: at most 25 domains are supported",
        ),
        (
            SEARCH | {"user_location": "Hangzhou"},
            "user_location: Input should be a valid dictionary",
        ),
        (
            SEARCH | {"user_location": {"city": "Hangzhou"}},
            "user_location.type: Input should be 'approximate'",
        ),
        (
            SEARCH | {"user_location": {"type": "exact"}},
            "user_location.type: Input should be 'approximate'",
        ),
        (
            SEARCH | {"user_location": {"type": "approximate", "city": 5}},
            "user_location.city: Input should be a valid string",
        ),
        (
            SEARCH | {"user_location": {"type": "approximate", "country": "China"}},
            "user_location.country: String should have exactly 2 characters",
        ),
        (
            SEARCH | {"user_location": {"type": "approximate", "street": "x"}},
            "user_location.street: Extra inputs are not permitted",
        ),
    ],
)
def test_bad_tools_are_refused_in_anthropic_words(tool: dict[str, Any], message: str) -> None:
    assert message in error_of(body(tool))


def test_two_tools_of_one_name_are_refused() -> None:
    twin = {"name": "web_search", "input_schema": {"type": "object"}}
    assert error_of(body(SEARCH, twin)) == "tools: Tool names must be unique."


def assistant(*blocks: dict[str, Any]) -> dict[str, Any]:
    return {"role": "assistant", "content": list(blocks)}


CALL = {
    "type": "server_tool_use",
    "id": "srvtoolu_01",
    "name": "web_search",
    "input": {"query": "bell rock lighthouse"},
}
READ = "[1] The Bell Rock Lighthouse\nSource: example.org (https://example.org/bell-rock)"
RESULT = {
    "type": "web_search_tool_result",
    "tool_use_id": "srvtoolu_01",
    "content": [
        {
            "type": "web_search_result",
            "url": "https://example.org/bell-rock",
            "title": "The Bell Rock Lighthouse",
            "encrypted_content": base64.b64encode(READ.encode()).decode(),
            "page_age": "April 30, 2025",
        }
    ],
}


def history(*blocks: dict[str, Any]) -> dict[str, Any]:
    turns = [USER, assistant(*blocks), {"role": "user", "content": "And when?"}]
    return body(SEARCH, messages=turns)


def test_a_previous_search_handed_back_is_its_call_and_result_parts() -> None:
    answer = {"type": "text", "text": "Robert Stevenson."}
    request = decode(history(CALL, RESULT, answer))[0]
    turn = request.messages[1]
    assert turn.role is Role.ASSISTANT
    call, result, text = turn.parts
    assert call == BuiltinCallPart(
        "srvtoolu_01", BuiltinToolKind.WEB_SEARCH, '{"query": "bell rock lighthouse"}'
    )
    assert isinstance(result, BuiltinResultPart)
    assert (result.call_id, result.tool, result.status) == (
        "srvtoolu_01",
        BuiltinToolKind.WEB_SEARCH,
        "completed",
    )
    output = json.loads(result.output)
    assert output["action"] == {
        "type": "search",
        "query": "bell rock lighthouse",
        "sources": [{"type": "url", "url": "https://example.org/bell-rock"}],
    }
    assert output["search_results"][0]["site_name"] == "example.org"
    # ours is the text the model read; it comes back as that text
    assert output["results_read"][0]["content"] == READ
    assert text == TextPart("Robert Stevenson.")


def test_a_result_whose_content_is_not_ours_is_kept_without_its_text() -> None:
    foreign = RESULT | {"content": [RESULT["content"][0] | {"encrypted_content": "Eq@@!"}]}
    result = decode(history(CALL, foreign))[0].messages[1].parts[1]
    assert isinstance(result, BuiltinResultPart)
    assert json.loads(result.output)["results_read"][0]["content"] == ""


@pytest.mark.parametrize(
    ("code", "failure"),
    [
        ("max_uses_exceeded", "max_uses_exceeded"),
        ("invalid_tool_input", "invalid_input"),
        ("too_many_requests", "too_many_requests"),
        ("query_too_long", "query_too_long"),
        ("request_too_large", "unavailable"),  # a code of theirs we never give
    ],
)
def test_a_failed_search_handed_back_is_a_failed_result(code: str, failure: str) -> None:
    error = {"type": "web_search_tool_result_error", "error_code": code}
    result = decode(history(CALL, RESULT | {"content": error}))[0].messages[1].parts[1]
    assert isinstance(result, BuiltinResultPart) and result.status == "failed"
    assert json.loads(result.output)["error_code"] == failure


def test_a_result_without_its_call_is_refused() -> None:
    message = error_of(history(RESULT))
    assert "web_search_tool_result for 'srvtoolu_01' follows no server_tool_use" in message


def test_other_server_tools_handed_back_are_refused() -> None:
    fetch = CALL | {"name": "web_fetch", "input": {"url": "https://example.org"}}
    assert "the server tool 'web_fetch' is not supported" in error_of(history(fetch))


def test_server_tool_blocks_in_a_user_turn_are_refused() -> None:
    turns = [{"role": "user", "content": [CALL]}]
    assert "a user turn cannot contain 'server_tool_use' blocks" in error_of(body(messages=turns))
