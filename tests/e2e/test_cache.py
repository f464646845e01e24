"""The context cache through all three APIs, on the embedded model: implicit hits, explicit
cache_control markers and the Responses session cache, reported in each API's usage."""

from __future__ import annotations

import secrets

import anthropic
import httpx
import openai

from tests.e2e.conftest import MODEL, Server


def background(tag: str) -> str:
    """About 1,150 tokens of text, unique per test so no other test's cache serves it."""
    colours = ["red", "green", "blue", "amber"]
    return f"[{tag}] " + " ".join(
        f"Note {i}: the {colours[i % 4]} lamp number {i} is in room {i * 7}." for i in range(78)
    )


def test_chat_implicit_hit(client: openai.OpenAI) -> None:
    system = background(secrets.token_hex(4))
    messages = [{"role": "system", "content": system}, {"role": "user", "content": "Red?"}]
    cold = client.chat.completions.create(model=MODEL, messages=messages, max_tokens=4)
    warm = client.chat.completions.create(model=MODEL, messages=messages, max_tokens=4)
    assert cold.usage and warm.usage and warm.usage.prompt_tokens_details
    assert cold.usage.prompt_tokens_details is not None
    assert cold.usage.prompt_tokens_details.cached_tokens == 0
    assert warm.usage.prompt_tokens_details.cached_tokens == warm.usage.prompt_tokens - 1
    # an implicit hit shows only cached_tokens
    assert warm.usage.prompt_tokens_details.model_dump(exclude_none=True) == {
        "cached_tokens": warm.usage.prompt_tokens - 1
    }


def test_chat_explicit_markers_create_then_read(http: httpx.Client) -> None:
    system = background(secrets.token_hex(4))
    body = {
        "model": MODEL,
        "max_tokens": 4,
        "messages": [
            {
                "role": "system",
                "content": [
                    {"type": "text", "text": system, "cache_control": {"type": "ephemeral"}}
                ],
            },
            {"role": "user", "content": "Which lamp is green?"},
        ],
    }
    first = http.post("/compatible-mode/v1/chat/completions", json=body).json()["usage"]
    details = first["prompt_tokens_details"]
    assert details["cached_tokens"] == 0
    assert details["cache_type"] == "ephemeral"
    created = details["cache_creation_input_tokens"]
    assert 1024 <= created < first["prompt_tokens"]
    assert details["cache_creation"] == {"ephemeral_5m_input_tokens": created}
    body["messages"][1]["content"] = "Which lamp is blue?"
    second = http.post("/compatible-mode/v1/chat/completions", json=body).json()["usage"]
    assert second["prompt_tokens_details"]["cached_tokens"] == created
    assert second["prompt_tokens_details"]["cache_creation_input_tokens"] == 0


def test_anthropic_cache_read_and_creation(claude: anthropic.Anthropic) -> None:
    system = background(secrets.token_hex(4))
    marked = [{"type": "text", "text": system, "cache_control": {"type": "ephemeral"}}]
    ask = [{"role": "user", "content": "Which lamp is amber?"}]
    first = claude.messages.create(model=MODEL, max_tokens=4, system=marked, messages=ask)
    assert first.usage.cache_read_input_tokens == 0
    created = first.usage.cache_creation_input_tokens or 0
    assert created >= 1024
    second = claude.messages.create(model=MODEL, max_tokens=4, system=marked, messages=ask)
    assert second.usage.cache_read_input_tokens == created
    assert second.usage.cache_creation_input_tokens == 0
    # Anthropic counts input_tokens apart from the cache
    assert second.usage.input_tokens == first.usage.input_tokens
    # implicit: the same system prompt without a marker
    plain = background(secrets.token_hex(4))
    claude.messages.create(model=MODEL, max_tokens=4, system=plain, messages=ask)
    again = claude.messages.create(model=MODEL, max_tokens=4, system=plain, messages=ask)
    assert (again.usage.cache_read_input_tokens or 0) > 1000
    assert again.usage.cache_creation_input_tokens == 0


def test_responses_session_cache(client: openai.OpenAI) -> None:
    session = {"x-dashscope-session-cache": "enable"}
    first = client.responses.create(
        model=MODEL,
        input=background(secrets.token_hex(4)) + "\nWhich lamp is red?",
        max_output_tokens=16,
        extra_headers=session,
    )
    second = client.responses.create(
        model=MODEL,
        previous_response_id=first.id,
        input="And which is blue?",
        max_output_tokens=16,
        extra_headers=session,
    )
    assert first.usage and second.usage
    assert first.usage.input_tokens_details.cached_tokens == 0
    assert second.usage.input_tokens_details.cached_tokens >= 1024
    assert second.usage.input_tokens_details.cached_tokens < second.usage.input_tokens


def test_responses_implicit_hit_without_the_header(client: openai.OpenAI) -> None:
    text = background(secrets.token_hex(4)) + "\nWhich lamp is red?"
    client.responses.create(model=MODEL, input=text, max_output_tokens=16, store=False)
    again = client.responses.create(model=MODEL, input=text, max_output_tokens=16, store=False)
    assert again.usage and again.usage.input_tokens_details.cached_tokens > 1000


def test_bad_session_cache_header(http: httpx.Client) -> None:
    response = http.post(
        "/compatible-mode/v1/responses",
        json={"model": MODEL, "input": "Hi"},
        headers={"x-dashscope-session-cache": "sometimes"},
    )
    assert response.status_code == 400
    assert "x-dashscope-session-cache" in response.json()["message"]


def test_metrics_endpoint_shows_the_embedded_engine(server: Server) -> None:
    text = httpx.get(
        f"{server.root_url}/metrics",
        headers={"Authorization": f"Bearer {server.api_key}"},
        timeout=10,
    ).text
    assert 'openscope_engine_parallel_sequences{backend="embedded"} 8.0' in text
    assert "openscope_engine_cache_hit_tokens_total" in text
