"""The official anthropic SDK against a real server: the embedded model for generation,
the scripted backend (`scripted-echo`) for tool and thinking round trips."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx
import pytest

from tests.e2e.conftest import ALIAS, MODEL, SCRIPTED, Server

pytestmark = pytest.mark.e2e

WEATHER = {
    "name": "get_weather",
    "description": "Current weather in a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}
HELLO = [{"role": "user", "content": "Say hello in one short sentence."}]


def create(claude: anthropic.Anthropic, **fields: Any) -> anthropic.types.Message:
    fields.setdefault("model", ALIAS)
    fields.setdefault("max_tokens", 24)
    fields.setdefault("messages", HELLO)
    return claude.messages.create(**fields)


def test_create(claude: anthropic.Anthropic) -> None:
    message = create(claude)
    assert message.id.startswith("msg_")
    assert message.model == ALIAS and message.role == "assistant"
    assert message.content[0].type == "text" and message.content[0].text
    assert message.stop_reason in ("end_turn", "max_tokens")
    assert message.stop_sequence is None
    usage = message.usage
    assert usage.input_tokens > 5 and 0 < usage.output_tokens <= 24
    assert usage.cache_creation_input_tokens == 0 and usage.cache_read_input_tokens == 0


def test_stream_events_and_final_message(claude: anthropic.Anthropic) -> None:
    with claude.messages.stream(
        model=ALIAS, max_tokens=24, messages=HELLO, extra_body={"temperature": 0}
    ) as stream:
        events = list(stream)
        final = stream.get_final_message()
    kinds = [e.type for e in events]
    assert kinds[0] == "message_start"
    assert kinds[-1] == "message_stop"
    assert "content_block_start" in kinds and "content_block_stop" in kinds
    text = "".join(e.delta.text for e in events if e.type == "content_block_delta")  # type: ignore[union-attr]
    assert text == final.content[0].text  # type: ignore[union-attr]
    greedy = create(claude, extra_body={"temperature": 0})
    assert greedy.content[0].text == text  # type: ignore[union-attr]
    assert final.usage.output_tokens == greedy.usage.output_tokens


def test_count_tokens_matches_usage(claude: anthropic.Anthropic) -> None:
    counted = claude.messages.count_tokens(model=ALIAS, messages=HELLO, system="Be brief.")
    used = create(claude, system="Be brief.", max_tokens=1)
    assert counted.input_tokens == used.usage.input_tokens


def test_max_tokens(claude: anthropic.Anthropic) -> None:
    message = create(
        claude,
        max_tokens=3,
        messages=[{"role": "user", "content": "Write a long story about the sea."}],
    )
    assert message.stop_reason == "max_tokens"
    assert message.usage.output_tokens == 3


def test_stop_sequences(claude: anthropic.Anthropic) -> None:
    story = [{"role": "user", "content": "Write a long story about the sea."}]
    greedy = create(claude, messages=story, max_tokens=40, extra_body={"temperature": 0})
    text = greedy.content[0].text  # type: ignore[union-attr]
    stop = text.split()[len(text.split()) // 2]
    stopped = create(
        claude, messages=story, max_tokens=40, stop_sequences=[stop], extra_body={"temperature": 0}
    )
    out = stopped.content[0].text  # type: ignore[union-attr]
    assert stopped.stop_reason == "end_turn"  # as the seed says, even for a stop sequence
    assert stopped.stop_sequence is None
    assert stop not in out and text.startswith(out)


def test_system_string_and_blocks_with_cache_control(claude: anthropic.Anthropic) -> None:
    as_string = create(claude, system="You are terse.", extra_body={"temperature": 0})
    as_blocks = create(
        claude,
        system=[{"type": "text", "text": "You are terse.", "cache_control": {"type": "ephemeral"}}],
        extra_body={"temperature": 0},
    )
    assert as_blocks.content[0].text == as_string.content[0].text  # type: ignore[union-attr]
    assert as_blocks.usage.input_tokens == as_string.usage.input_tokens


def test_temperature_range_is_model_studios(claude: anthropic.Anthropic) -> None:
    create(claude, extra_body={"temperature": 1.5})
    with pytest.raises(anthropic.BadRequestError) as caught:
        create(claude, extra_body={"temperature": 2.0})
    assert caught.value.body == {  # type: ignore[comparison-overlap]
        "type": "error",
        "error": {
            "type": "invalid_request_error",
            "message": "Temperature should be in [0.0, 2.0)",
        },
        "request_id": caught.value.response.headers["request-id"],
    }


def test_both_auth_headers(server: Server) -> None:
    url = f"{server.root_url}/apps/anthropic/v1/messages"
    body = {"model": ALIAS, "max_tokens": 4, "messages": HELLO}
    by_x_api_key = httpx.post(url, json=body, headers={"x-api-key": server.api_key}, timeout=60)
    by_bearer = httpx.post(
        url,
        json=body,
        headers={
            "Authorization": f"Bearer {server.api_key}",
            "anthropic-version": "2023-06-01",
            "anthropic-beta": "prompt-caching-2024-07-31",
        },
        timeout=60,
    )
    assert by_x_api_key.status_code == by_bearer.status_code == 200
    missing = httpx.post(url, json=body, timeout=60)
    assert missing.status_code == 401
    assert missing.json()["error"] == {
        "type": "authentication_error",
        "message": "No API-key provided.",
    }


def test_errors_raise_the_sdk_exceptions(server: Server, claude: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.AuthenticationError):
        anthropic.Anthropic(
            base_url=f"{server.root_url}/apps/anthropic", api_key="sk-wrong", max_retries=0
        ).messages.create(model=ALIAS, max_tokens=4, messages=HELLO)
    with pytest.raises(anthropic.NotFoundError) as unknown:
        create(claude, model="gpt-9")
    assert unknown.value.body["error"]["type"] == "not_found_error"  # type: ignore[index]
    with pytest.raises(anthropic.BadRequestError):
        create(claude, messages=[{"role": "system", "content": "no"}])
    with pytest.raises(anthropic.BadRequestError) as no_thinking:
        create(claude, model=MODEL, thinking={"type": "enabled", "budget_tokens": 1024})
    assert "does not support enable_thinking" in no_thinking.value.message
    big = "x" * (17 * 1024 * 1024)
    with pytest.raises(anthropic.APIStatusError) as too_large:
        create(claude, system=big)
    assert too_large.value.status_code == 413


def test_tool_use_round_trip(claude: anthropic.Anthropic) -> None:
    question = [{"role": "user", "content": "Paris"}]
    first = create(claude, model=SCRIPTED, tools=[WEATHER], messages=question)
    assert first.stop_reason == "tool_use"
    call = first.content[-1]
    assert call.type == "tool_use" and call.name == "get_weather"
    assert call.input == {"city": "Paris"}
    second = create(
        claude,
        model=SCRIPTED,
        tools=[WEATHER],
        messages=[
            *question,
            {"role": "assistant", "content": [c.model_dump() for c in first.content]},
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": call.id, "content": "18 C and sunny"}
                ],
            },
        ],
    )
    assert second.stop_reason == "end_turn"
    assert second.content[0].text == "The tool returned: 18 C and sunny"  # type: ignore[union-attr]


def test_streamed_tool_use_and_thinking(claude: anthropic.Anthropic) -> None:
    with claude.messages.stream(
        model=SCRIPTED,
        max_tokens=64,
        messages=[{"role": "user", "content": "Paris"}],
        tools=[WEATHER],
        thinking={"type": "enabled", "budget_tokens": 1024},
    ) as stream:
        deltas = [e.delta.type for e in stream if e.type == "content_block_delta"]  # type: ignore[union-attr]
        final = stream.get_final_message()
    assert deltas[0] == "thinking_delta" and "signature_delta" in deltas
    assert "input_json_delta" in deltas
    thinking, call = final.content
    assert thinking.type == "thinking" and thinking.signature
    assert call.type == "tool_use" and call.input == {"city": "Paris"}
    assert final.stop_reason == "tool_use"


def test_an_agent_configured_by_environment(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tools built on the SDK (coding agents) point it at a server with
    ANTHROPIC_BASE_URL and ANTHROPIC_API_KEY, and call the beta endpoint."""
    monkeypatch.setenv("ANTHROPIC_BASE_URL", f"{server.root_url}/apps/anthropic")
    monkeypatch.setenv("ANTHROPIC_API_KEY", server.api_key)
    agent = anthropic.Anthropic(max_retries=0)
    message = agent.beta.messages.create(
        model=ALIAS,
        max_tokens=8,
        system=[
            {
                "type": "text",
                "text": "You are a coding agent.",
                "cache_control": {"type": "ephemeral"},
            }
        ],
        messages=HELLO,
        metadata={"user_id": "agent-user"},
        betas=["prompt-caching-2024-07-31"],
    )
    assert message.content[0].type == "text"
    assert message.usage.input_tokens > 0
