"""The upstream backend over a fake upstream: what it forwards in each dialect, and how it
answers the upstream's refusals, failures and cut streams."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import orjson
import pytest

from openscope.backends.openai_upstream import UpstreamBackend
from openscope.backends.openai_upstream.options import UpstreamOptions
from openscope.backends.openai_upstream.transport import TransportError
from openscope.core.builtin_tools import CodeInterpreter, WebExtractor, WebSearch
from openscope.core.errors import InvalidParameter, Overloaded, RateLimited
from openscope.core.events import Event
from openscope.core.fold import fold
from openscope.core.messages import (
    CacheControl,
    ImagePart,
    Message,
    Role,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from openscope.core.request import GenerateRequest, SamplingParams, ThinkingConfig, ToolSpec
from tests.backends.openai_upstream.fakes import FakeTransport, Reply, delta, sse, usage_chunk

URL = "http://upstream.test/v1"
HELLO = (Message(Role.USER, (TextPart("hi"),)),)
ANSWER = sse(delta(content="Hello"), delta(finish="stop"), usage_chunk(3, 1))


def backend(transport: FakeTransport, **options: Any) -> UpstreamBackend:
    settings = UpstreamOptions.model_validate({"url": URL, **options})
    return UpstreamBackend(settings, transport=transport)


def ask(**fields: Any) -> GenerateRequest:
    return GenerateRequest(**{"model": "served", "messages": HELLO, **fields})


async def events(b: UpstreamBackend, request: GenerateRequest) -> list[Event]:
    return [e async for e in b.generate(request, "upstream-model")]


async def test_the_answer_and_what_was_sent() -> None:
    fake = FakeTransport(Reply(lines=ANSWER))
    up = backend(fake, dialect="vllm", api_key="sk-up")
    request = ask(sampling=SamplingParams(temperature=0.5, top_k=20, max_tokens=9, stop=("x",)))
    result = fold(await events(up, request))
    assert result.choices[0].message.text == "Hello"
    assert result.usage.input_tokens == 3
    url, body, headers = fake.sent[0]
    assert url == f"{URL}/chat/completions"
    assert headers["Authorization"] == "Bearer sk-up"
    assert body == {
        "model": "upstream-model",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
        "stream_options": {"include_usage": True},  # asked for even if the client did not
        "temperature": 0.5,
        "top_k": 20,
        "max_tokens": 9,
        "stop": ["x"],
    }
    assert fake.released == 1


@pytest.mark.parametrize(
    ("dialect", "expected"),
    [
        ("vllm", {"chat_template_kwargs": {"enable_thinking": False}}),
        ("sglang", {"chat_template_kwargs": {"enable_thinking": False}}),
        ("llama-server", {"chat_template_kwargs": {"enable_thinking": False}}),
        ("ollama", {"reasoning_effort": "none"}),
        ("dashscope", {"enable_thinking": False}),
    ],
)
async def test_thinking_off_in_each_dialect(dialect: str, expected: dict[str, Any]) -> None:
    fake = FakeTransport(Reply(lines=ANSWER))
    up = backend(fake, dialect=dialect, thinking=True)
    await events(up, ask(thinking=ThinkingConfig(enabled=False)))
    body = fake.sent[0][1]
    assert {k: body[k] for k in expected} == expected


async def test_a_model_that_cannot_think_gets_no_switch() -> None:
    fake = FakeTransport(Reply(lines=ANSWER))
    await events(backend(fake, dialect="openai"), ask(thinking=ThinkingConfig(enabled=False)))
    assert "reasoning_effort" not in fake.sent[0][1]


async def test_thinking_budget_in_each_dialect() -> None:
    wanted = {
        "vllm": ("thinking_token_budget", 64),
        "llama-server": ("reasoning_budget", 64),
        "dashscope": ("thinking_budget", 64),
    }
    for dialect, (key, value) in wanted.items():
        fake = FakeTransport(Reply(lines=ANSWER))
        thinking = ThinkingConfig(enabled=True, budget_tokens=64)
        await events(backend(fake, dialect=dialect, thinking=True), ask(thinking=thinking))
        assert fake.sent[0][1][key] == value, dialect


async def test_model_studio_gets_its_own_parameters_unchanged() -> None:
    fake = FakeTransport(Reply(lines=ANSWER))
    marked = (Message(Role.USER, (TextPart("long", cache_control=CacheControl()),)),)
    request = replace(ask(builtin_tools=(WebSearch({"forced_search": True}),)), messages=marked)
    await events(backend(fake, dialect="dashscope"), request)
    body = fake.sent[0][1]
    assert body["enable_search"] is True
    assert body["search_options"] == {"forced_search": True}
    assert body["messages"][0]["content"] == [
        {"type": "text", "text": "long", "cache_control": {"type": "ephemeral"}}
    ]


@pytest.mark.parametrize(
    ("tool", "named"),
    [
        (WebSearch(max_uses=2), "max_uses"),
        (WebSearch(blocked_sites=("example.com",)), "blocked_domains"),
    ],
)
async def test_model_studio_refuses_search_settings_it_has_no_switch_for(
    tool: WebSearch, named: str
) -> None:
    fake = FakeTransport(Reply(lines=ANSWER))
    with pytest.raises(InvalidParameter) as refused:
        await events(backend(fake, dialect="dashscope"), ask(builtin_tools=(tool,)))
    assert refused.value.message == (
        f"The web search of this model's upstream does not support {named}."
    )
    assert not fake.sent


def test_features_follow_the_dialect_and_options() -> None:
    fake = FakeTransport()
    studio = backend(fake, dialect="dashscope", thinking=True).features("m")
    assert studio.explicit_cache and studio.builtin_tools and studio.thinking
    server = backend(fake, dialect="llama-server").features("m")
    assert not server.explicit_cache and not server.builtin_tools
    assert not server.multiple_choices  # one choice per llama-server request


async def test_tools_are_forwarded() -> None:
    fake = FakeTransport(Reply(lines=ANSWER))
    tool = ToolSpec("f", parameters={"type": "object"}, strict=True)
    await events(backend(fake), ask(tools=(tool,)))
    body = fake.sent[0][1]
    assert body["tools"] == [
        {
            "type": "function",
            "function": {"name": "f", "parameters": {"type": "object"}, "strict": True},
        }
    ]
    assert body["tool_choice"] == "auto" and body["parallel_tool_calls"] is True


async def test_a_named_tool_choice_where_the_engine_reads_only_strings() -> None:
    """llama-server ignores a tool_choice object (the choice becomes auto): it is sent the
    named tool alone, required. The others get the choice as OpenAI spells it."""
    from openscope.core.request import ToolChoice, ToolChoiceMode

    tools = (ToolSpec("f", parameters={"type": "object"}), ToolSpec("g"))
    named = ask(tools=tools, tool_choice=ToolChoice(ToolChoiceMode.NAMED, name="g"))
    fake = FakeTransport(Reply(lines=ANSWER), Reply(lines=ANSWER))
    await events(backend(fake, dialect="llama-server"), named)
    await events(backend(fake, dialect="vllm"), named)
    (_, server, _), (_, vllm, _) = fake.sent
    assert server["tool_choice"] == "required"
    assert [t["function"]["name"] for t in server["tools"]] == ["g"]
    assert vllm["tool_choice"] == {"type": "function", "function": {"name": "g"}}
    assert [t["function"]["name"] for t in vllm["tools"]] == ["f", "g"]


async def test_an_engine_whose_stream_has_no_usage_is_asked_for_the_whole_answer() -> None:
    """llama-cpp-python's server never ends a stream with usage: it is asked not to stream,
    and its answer (message, tool calls, usage) becomes the same events a stream would."""
    whole = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Let me look.",
                    "tool_calls": [
                        {
                            "id": "call_a",
                            "type": "function",
                            "function": {"name": "f", "arguments": '{"x": 1}'},
                        }
                    ],
                },
                "logprobs": None,
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {"prompt_tokens": 34, "completion_tokens": 8, "total_tokens": 42},
    }
    fake = FakeTransport(Reply(lines=[orjson.dumps(whole)]))
    tool = ToolSpec("f", parameters={"type": "object"})
    result = fold(await events(backend(fake, dialect="llama-cpp-python"), ask(tools=(tool,))))
    body = fake.sent[0][1]
    assert body["stream"] is False and "stream_options" not in body
    message = result.choices[0].message
    assert message.text == "Let me look."
    assert [(c.id, c.name, c.arguments) for c in message.tool_calls] == [
        ("call_a", "f", '{"x": 1}')
    ]
    assert (result.usage.input_tokens, result.usage.output_tokens) == (34, 8)
    for broken in (b"<html>busy</html>", b'{"object": "list"}'):
        with pytest.raises(Overloaded):
            await events(
                backend(FakeTransport(Reply(lines=[broken])), dialect="llama-cpp-python"), ask()
            )


async def test_an_answer_without_usage_is_logged_once_per_replica(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bare = sse(delta(content="Hello"), delta(finish="stop"))
    fake = FakeTransport(Reply(lines=bare), Reply(lines=bare), Reply(lines=ANSWER))
    up = backend(fake)
    with caplog.at_level("WARNING", logger="openscope.upstream"):
        for _ in range(3):
            await events(up, ask())
    assert [r.getMessage() for r in caplog.records if "without usage" in r.getMessage()] == [
        f"upstream {URL} answered without usage: its tokens count as none "
        "(a dialect whose answers carry usage would count them)"
    ]


async def test_a_rate_limit_keeps_its_retry_after() -> None:
    fake = FakeTransport(
        Reply(status=429, lines=[b'{"error": "slow down"}'], headers={"Retry-After": "7"})
    )
    with pytest.raises(RateLimited) as caught:
        await events(backend(fake), ask())
    assert caught.value.retry_after == 7.0
    assert fake.released == 1


async def test_a_bare_string_400_passes_its_message_on() -> None:
    fake = FakeTransport(Reply(status=400, lines=[b'"System message must be at the beginning."']))
    with pytest.raises(InvalidParameter, match="System message must be at the beginning"):
        await events(backend(fake, dialect="sglang"), ask())


@pytest.mark.parametrize(
    "reply",
    [
        Reply(status=503, lines=[b'{"error": {"code": 503, "message": "Loading model"}}']),
        TransportError("ClientConnectorError: refused"),
        Reply(lines=sse(delta(content="Hel"), done=False), cut=True),  # the connection broke
        Reply(lines=sse(delta(content="Hel"))),  # [DONE] before the answer ended
        Reply(lines=sse(delta(content="Hel"), "not json")),
    ],
    ids=["503", "unreachable", "cut", "early-done", "garbage"],
)
async def test_outages_and_cut_streams_are_model_unavailable(reply: Reply | Exception) -> None:
    with pytest.raises(Overloaded):
        await events(backend(FakeTransport(reply)), ask())


async def test_a_stream_that_ends_without_done_but_complete_is_an_answer() -> None:
    lines = sse(delta(content="Hi"), delta(finish="stop"), usage_chunk(1, 1), done=False)
    result = fold(await events(backend(FakeTransport(Reply(lines=lines))), ask()))
    assert result.choices[0].message.text == "Hi"


async def test_closing_the_events_releases_the_connection() -> None:
    fake = FakeTransport(
        Reply(lines=sse(delta(content="a"), delta(content="b"), delta(finish="stop")))
    )
    stream = backend(fake).generate(ask(), "m")
    await anext(stream)
    await stream.aclose()
    assert fake.released == 1


async def test_count_tokens_through_the_template_or_the_messages() -> None:
    fake = FakeTransport(
        Reply(lines=[b'{"prompt": "<|user|>hi"}']), Reply(lines=[b'{"tokens": [1, 2, 3, 4]}'])
    )
    assert await backend(fake, dialect="llama-server").count_tokens(ask(), "m") == 4
    assert [url for url, _, _ in fake.sent] == [
        "http://upstream.test/apply-template",
        "http://upstream.test/tokenize",
    ]
    fake = FakeTransport(Reply(lines=[b'{"count": 12, "tokens": []}']))
    assert await backend(fake, dialect="vllm").count_tokens(ask(), "m") == 12
    with pytest.raises(InvalidParameter):
        await backend(FakeTransport(), dialect="ollama").count_tokens(ask(), "m")


async def test_partial_mode_where_the_engine_can_continue() -> None:
    prefix = (*HELLO, Message(Role.ASSISTANT, (TextPart("1, 2,"),)))
    fake = FakeTransport(Reply(lines=ANSWER))
    await events(backend(fake, dialect="vllm"), ask(messages=prefix, partial=True))
    assert fake.sent[0][1]["continue_final_message"] is True
    with pytest.raises(InvalidParameter):
        await events(backend(FakeTransport(), dialect="ollama"), ask(messages=prefix, partial=True))


async def test_a_late_system_message_is_hoisted_for_engines_that_refuse_it() -> None:
    late = (
        Message(Role.SYSTEM, (TextPart("Be brief."),)),
        Message(Role.USER, (TextPart("hi"),)),
        Message(Role.SYSTEM, (TextPart("Answer in French."),)),
    )
    fake = FakeTransport(Reply(lines=ANSWER), Reply(lines=ANSWER))
    await events(backend(fake, dialect="vllm"), ask(messages=late))
    assert fake.sent[0][1]["messages"] == [
        {"role": "system", "content": "Be brief.\n\nAnswer in French."},
        {"role": "user", "content": "hi"},
    ]
    await events(backend(fake, dialect="dashscope"), ask(messages=late))  # Model Studio takes it
    assert [m["role"] for m in fake.sent[1][1]["messages"]] == ["system", "user", "system"]


async def test_raw_tool_calls_are_parsed_when_the_route_says_so() -> None:
    raw = '<tool_call>{"name": "f", "arguments": {"x": 1}}</tool_call>'
    lines = sse(delta(content=raw), delta(finish="stop"))
    tool = ToolSpec("f", parameters={"type": "object"})
    parsed = fold(
        await events(
            backend(FakeTransport(Reply(lines=lines)), raw_tool_format="hermes"), ask(tools=(tool,))
        )
    )
    assert [c.name for c in parsed.choices[0].message.tool_calls] == ["f"]
    as_is = fold(await events(backend(FakeTransport(Reply(lines=lines))), ask(tools=(tool,))))
    assert as_is.choices[0].message.text == raw  # without the option, the text is the answer


async def test_what_a_route_cannot_forward_is_refused_not_dropped() -> None:
    ids = SamplingParams(stop_token_ids=((7,),))
    fake = FakeTransport(Reply(lines=ANSWER))
    await events(backend(fake, dialect="vllm"), ask(sampling=ids))
    assert fake.sent[0][1]["stop_token_ids"] == [7]
    for dialect, request in [
        ("llama-server", ask(sampling=ids)),
        ("vllm", ask(sampling=SamplingParams(stop_token_ids=((7, 8),)))),
        ("ollama", ask(thinking=ThinkingConfig(enabled=True, budget_tokens=64))),
        ("dashscope", ask(session_cache=True)),
    ]:
        fake = FakeTransport()
        with pytest.raises(InvalidParameter):
            await events(backend(fake, dialect=dialect, thinking=True), request)
        assert not fake.sent, dialect


async def test_allowed_tools_are_the_only_tools_sent() -> None:
    from openscope.core.request import ToolChoice, ToolChoiceMode

    fake = FakeTransport(Reply(lines=ANSWER))
    tools = (ToolSpec("a"), ToolSpec("b"))
    choice = ToolChoice(ToolChoiceMode.AUTO, allowed=("b",))
    await events(backend(fake), ask(tools=tools, tool_choice=choice))
    assert [t["function"]["name"] for t in fake.sent[0][1]["tools"]] == ["b"]


async def test_an_error_event_about_the_request_is_a_400_and_not_retried() -> None:
    refusal = {"error": {"code": 400, "message": "the request exceeds the context size"}}
    fake = FakeTransport(Reply(lines=sse(refusal)), Reply(lines=ANSWER))
    settings = UpstreamOptions.model_validate(
        {"deployments": [{"url": URL}, {"url": "http://other.test/v1"}]}
    )
    up = UpstreamBackend(settings, transport=fake)
    with pytest.raises(InvalidParameter, match="context size"):
        await events(up, ask())
    assert len(fake.sent) == 1 and all(r.failures == 0 for r in up.replicas)


async def test_an_aborted_choice_is_a_failure_not_an_answer() -> None:
    fake = FakeTransport(Reply(lines=sse(delta(content="Hel"), delta(finish="abort"))))
    with pytest.raises(Overloaded):
        await events(backend(fake), ask())


async def test_a_full_pool_is_overloaded_with_a_retry_after() -> None:
    settings = UpstreamOptions.model_validate({"deployments": [{"url": URL, "max_concurrent": 1}]})
    up = UpstreamBackend(settings, transport=FakeTransport())
    up.replicas[0].outstanding = 1
    with pytest.raises(Overloaded) as caught:
        await events(up, ask())
    assert caught.value.retry_after is not None


def test_logprobs_are_refused_where_raw_text_is_parsed() -> None:
    assert backend(FakeTransport()).features("m").logprobs
    assert not backend(FakeTransport(), raw_tool_format="hermes").features("m").logprobs


def test_a_url_with_credentials_is_refused_without_echoing_them() -> None:
    from openscope.backends.registry import BackendConfigError, BackendRegistry

    secret = "s3cret-token"
    with pytest.raises(BackendConfigError) as caught:
        BackendRegistry.with_defaults().create(
            "openai_upstream", {"url": f"https://user:{secret}@engine.test/v1"}
        )
    assert "credentials" in str(caught.value) and secret not in str(caught.value)


async def test_model_studio_cache_markers_go_where_it_takes_them_or_are_refused() -> None:
    from openscope.core.messages import ImagePart

    image = (
        Message(Role.USER, (ImagePart("https://x.test/a.png", cache_control=CacheControl()),)),
    )
    fake = FakeTransport(Reply(lines=ANSWER))
    await events(backend(fake, dialect="dashscope", vision=True), ask(messages=image))
    (block,) = fake.sent[0][1]["messages"][0]["content"]
    assert block["cache_control"] == {"type": "ephemeral"}
    marked_tool = ToolSpec("f", parameters={"type": "object"}, cache_control=CacheControl())
    fake = FakeTransport()
    with pytest.raises(InvalidParameter, match="cache_control"):
        await events(backend(fake, dialect="dashscope"), ask(tools=(marked_tool,)))
    # a marker asking for a life of its own (Anthropic's ttl) cannot be passed on
    long_lived = (
        Message(Role.USER, (TextPart("long", cache_control=CacheControl(ttl_seconds=3600)),)),
    )
    with pytest.raises(InvalidParameter, match="cache_control"):
        await events(backend(fake, dialect="dashscope"), ask(messages=long_lived))
    # nor one inside a tool result, which chat's tool message cannot carry
    result = ToolResultPart("c1", (TextPart("20 C", cache_control=CacheControl()),))
    in_result = (
        Message(Role.USER, (TextPart("hi"),)),
        Message(Role.ASSISTANT, (ToolCallPart("c1", "f", "{}"),)),
        Message(Role.TOOL, (result,)),
    )
    with pytest.raises(InvalidParameter, match="cache_control"):
        await events(backend(fake, dialect="dashscope"), ask(messages=in_result))
    assert not fake.sent


async def test_a_route_s_refusal_is_worded_by_each_api() -> None:
    from openscope.protocols.anthropic_messages.encode import error_body as anthropic_body
    from openscope.protocols.openai_chat.encode import error_body as chat_body

    request = ask(thinking=ThinkingConfig(enabled=True, budget_tokens=64))
    with pytest.raises(InvalidParameter) as caught:
        await events(backend(FakeTransport(), dialect="ollama", thinking=True), request)
    assert "thinking_budget" in chat_body(caught.value, "r")["error"]["message"]
    assert "thinking.budget_tokens" in anthropic_body(caught.value, "r")["error"]["message"]


async def test_model_studio_reads_pages_only_under_agent_max() -> None:
    fake = FakeTransport(Reply(lines=ANSWER))
    agent_max = WebSearch({"search_strategy": "agent_max"}, by_strategy=True)
    await events(backend(fake, dialect="dashscope"), ask(builtin_tools=(agent_max, WebExtractor())))
    assert fake.sent[0][1]["search_options"] == {"search_strategy": "agent_max"}
    with pytest.raises(InvalidParameter) as refused:
        await events(
            backend(fake, dialect="dashscope"), ask(builtin_tools=(WebSearch(), WebExtractor()))
        )
    assert "only under chat's agent_max search strategy" in refused.value.message
    with pytest.raises(InvalidParameter) as refused:
        named = CodeInterpreter(container_id="cntr_abc")
        await events(backend(fake, dialect="dashscope"), ask(builtin_tools=(named,)))
    assert refused.value.message == (
        "The code interpreter of this model's upstream does not take a container id."
    )
    assert len(fake.sent) == 1


PICTURE = (Message(Role.USER, (TextPart("What is this?"), ImagePart("https://x.test/a.png"))),)


@pytest.mark.parametrize(
    ("dialect", "sent"),
    [
        ("dashscope", {"vl_high_resolution_images": True}),
        ("vllm", {"mm_processor_kwargs": {"max_pixels": 16_384 * 28 * 28}}),
    ],
)
async def test_high_resolution_images_are_asked_for_as_the_engine_spells_it(
    dialect: str, sent: dict[str, Any]
) -> None:
    fake = FakeTransport(Reply(lines=ANSWER))
    request = ask(messages=PICTURE, high_resolution_images=True)
    await events(backend(fake, dialect=dialect, vision=True), request)
    body = fake.sent[0][1]
    assert {key: body[key] for key in sent} == sent


async def test_high_resolution_images_an_engine_cannot_read_are_refused_not_dropped() -> None:
    fake = FakeTransport(Reply(lines=ANSWER))
    up = backend(fake, dialect="llama-server", vision=True)
    with pytest.raises(InvalidParameter) as refused:
        await events(up, ask(messages=PICTURE, high_resolution_images=True))
    assert refused.value.param == "vl_high_resolution_images"
    assert refused.value.message == (
        "vl_high_resolution_images is not supported by this model's upstream (llama-server)."
    )
    # without images the switch changes nothing, as on Model Studio
    await events(up, ask(high_resolution_images=True))
    assert len(fake.sent) == 1
    assert "mm_processor_kwargs" not in fake.sent[0][1]


async def test_the_key_can_come_from_an_environment_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VLLM_KEY", "sk-from-env")
    fake = FakeTransport(Reply(lines=ANSWER))
    await events(backend(fake, api_key_env="VLLM_KEY"), ask())
    assert fake.sent[0][2]["Authorization"] == "Bearer sk-from-env"
    replicas = UpstreamOptions.model_validate(
        {"deployments": [{"url": URL, "api_key_env": "VLLM_KEY"}]}
    ).replicas()
    assert replicas[0].api_key is not None
    assert replicas[0].api_key.get_secret_value() == "sk-from-env"
    assert "sk-from-env" not in repr(replicas)


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"api_key_env": "NOT_SET_ANYWHERE"}, "NOT_SET_ANYWHERE, which is not set"),
        ({"api_key_env": "VLLM_KEY", "api_key": "sk-x"}, "either api_key or api_key_env"),
    ],
)
def test_a_key_variable_that_is_not_there_or_beside_a_key_is_refused(
    monkeypatch: pytest.MonkeyPatch, options: dict[str, Any], problem: str
) -> None:
    monkeypatch.setenv("VLLM_KEY", "sk-from-env")
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    with pytest.raises(ValueError, match=problem):
        UpstreamOptions.model_validate({"url": URL, **options})
