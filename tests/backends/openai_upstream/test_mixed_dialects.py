"""One backend whose deployments run different engines (vLLM on some machines, SGLang or
llama-server on others): each replica is spoken to in its own dialect, read back in it, and
polled where it answers; a request is checked against every dialect, since failover may
take it to any replica."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from openscope.backends.openai_upstream import UpstreamBackend
from openscope.backends.openai_upstream.options import UpstreamOptions
from openscope.backends.openai_upstream.transport import TransportError
from openscope.core.errors import InvalidParameter
from openscope.core.fold import fold
from openscope.core.messages import Message, Role, TextPart
from openscope.core.request import GenerateRequest, SamplingParams, ThinkingConfig
from tests.backends.openai_upstream.fakes import FakeTransport, Reply, delta, sse, usage_chunk

A, B = "http://a.test/v1", "http://b.test/v1"


def mixed(transport: FakeTransport, *dialects: str | None, **options: Any) -> UpstreamBackend:
    urls = (A, B)
    deployments = [
        {"url": url, **({"dialect": d} if d else {})} for url, d in zip(urls, dialects, strict=True)
    ]
    settings = UpstreamOptions.model_validate({"deployments": deployments, **options})
    return UpstreamBackend(settings, transport=transport)


def ask(**fields: Any) -> GenerateRequest:
    hello = (Message(Role.USER, (TextPart("hi"),)),)
    return GenerateRequest(**{"model": "m", "messages": hello, **fields})


def answer_with(field: str) -> list[bytes]:
    """An answer whose reasoning comes under `field`, as an engine names it."""
    return sse(
        delta(**{field: "Thinking."}), delta(content="Hi"), delta(finish="stop"), usage_chunk(3, 2)
    )


async def test_each_replica_is_sent_the_request_in_its_own_dialect() -> None:
    # The first replica tried is down, so the one request goes to both.
    fake = FakeTransport(TransportError("refused"), Reply(lines=answer_with("reasoning")))
    up = mixed(fake, "vllm", "ollama", thinking=True)
    request = ask(
        thinking=ThinkingConfig(enabled=False), sampling=SamplingParams(top_k=20, max_tokens=9)
    )
    result = fold([e async for e in up.generate(request, "m")])
    assert result.choices[0].message.text == "Hi"
    bodies = {url.removesuffix("/chat/completions"): body for url, body, _ in fake.sent}
    assert set(bodies) == {A, B}
    assert bodies[A]["chat_template_kwargs"] == {"enable_thinking": False}  # vLLM's switch
    assert bodies[A]["top_k"] == 20
    assert bodies[B]["reasoning_effort"] == "none"  # Ollama's; it takes no top_k
    assert "chat_template_kwargs" not in bodies[B] and "top_k" not in bodies[B]


async def test_a_request_one_dialect_cannot_carry_is_refused_before_any_is_sent() -> None:
    ids = SamplingParams(stop_token_ids=((7,),))
    fake = FakeTransport(Reply(lines=answer_with("reasoning_content")))
    both = mixed(fake, "vllm", "sglang")
    await anext(aiter(both.generate(ask(sampling=ids), "m")))
    assert fake.sent  # both take stop token ids
    fake = FakeTransport()
    with pytest.raises(InvalidParameter, match="llama-server"):
        await anext(aiter(mixed(fake, "vllm", "llama-server").generate(ask(sampling=ids), "m")))
    assert not fake.sent


def test_features_are_what_every_replica_can_do() -> None:
    fake = FakeTransport()
    assert mixed(fake, "vllm", "sglang").features("m").multiple_choices
    assert not mixed(fake, "vllm", "llama-server").features("m").multiple_choices
    studio = mixed(fake, "dashscope", "dashscope").features("m")
    assert studio.explicit_cache and studio.builtin_tools
    fallback = mixed(fake, "vllm", "dashscope").features("m")  # Model Studio as a fallback
    assert not fallback.explicit_cache and not fallback.builtin_tools


async def test_health_and_load_are_asked_where_each_engine_answers() -> None:
    fake = FakeTransport()
    up = mixed(fake, "ollama", "vllm")
    await up.check_health(until_next=10)
    await up.poll_load()
    assert sorted(fake.checked) == [
        "http://a.test/",  # Ollama's liveness; it has no load gauges
        "http://b.test/health",
        "http://b.test/metrics",
    ]
    fake = FakeTransport()
    up = mixed(fake, "dashscope", "vllm")
    await up.check_health(until_next=10)
    assert fake.checked == ["http://b.test/health"]  # Model Studio has no health endpoint


async def test_tokens_are_counted_on_a_replica_that_can() -> None:
    fake = FakeTransport(Reply(lines=[b'{"count": 12, "tokens": []}']))
    assert await mixed(fake, "ollama", "vllm").count_tokens(ask(), "m") == 12
    assert fake.sent[0][0] == "http://b.test/tokenize"
    with pytest.raises(InvalidParameter, match="ollama, dashscope"):
        await mixed(FakeTransport(), "ollama", "dashscope").count_tokens(ask(), "m")


def test_a_deployment_without_a_dialect_takes_the_backend_s() -> None:
    settings = UpstreamOptions.model_validate(
        {"dialect": "sglang", "deployments": [{"url": A}, {"url": B, "dialect": "vllm"}]}
    )
    assert [d.dialect for d in settings.replicas()] == ["sglang", "vllm"]
    one = UpstreamOptions.model_validate({"url": A, "dialect": "llama-server"})
    assert [d.dialect for d in one.replicas()] == ["llama-server"]


def test_an_unknown_dialect_on_a_deployment_is_refused_by_its_place() -> None:
    with pytest.raises(ValidationError) as caught:
        UpstreamOptions.model_validate({"deployments": [{"url": A}, {"url": B, "dialect": "tgi"}]})
    (error,) = caught.value.errors()
    assert error["loc"] == ("deployments", 1, "dialect")
    assert "vllm" in error["msg"]  # the choices are listed
