"""The engine over the scripted backend: validation happens before the first event."""

import time
from dataclasses import replace

import pytest

from openscope.backends.base import BackendFeatures
from openscope.backends.scripted import ScriptedBackend
from openscope.core.call import Call
from openscope.core.catalog import default_catalog
from openscope.core.errors import InternalError, InvalidParameter
from openscope.core.events import PartDelta, UsageReport
from openscope.core.messages import ImagePart, Message, Role, TextPart, ToolCallPart
from openscope.core.request import GenerateRequest, SamplingParams, ThinkingConfig, ToolSpec
from openscope.core.rules import Field
from openscope.engine import Engine, Route, Router
from tests.engine.helpers import CALLER, started, unused_store


def engine(backend: ScriptedBackend) -> Engine:
    routes = {"smollm2-135m-instruct": Route("b", "smollm2-135m-instruct")}
    router = Router(default_catalog(), routes, {"qwen-plus": "smollm2-135m-instruct"}, created=1)
    return Engine(router, {"b": backend}, unused_store())


def ask(text: str, model: str = "qwen-plus", **sampling: object) -> GenerateRequest:
    return GenerateRequest(
        model=model,
        messages=(Message(Role.USER, (TextPart(text),)),),
        sampling=SamplingParams(**sampling),  # type: ignore[arg-type]
    )


async def test_generate_streams_the_backend_events() -> None:
    stream = await started(engine(ScriptedBackend()), ask("a b"), stream=True)
    events = [e async for e in stream]
    assert isinstance(events[0], UsageReport)
    assert "".join(e.text for e in events if isinstance(e, PartDelta)) == "a b"


async def test_backend_errors_before_the_first_event_raise_from_generate() -> None:
    class EarlyFailure(ScriptedBackend):
        async def generate(self, request, model):  # type: ignore[no-untyped-def,override]
            raise InvalidParameter("Range of input length should be [1, 10]")
            yield  # pragma: no cover

    with pytest.raises(InvalidParameter):
        await started(engine(EarlyFailure()), ask("x"), stream=True)


async def test_images_need_a_vision_backend() -> None:
    # qwen-vl-plus can see (its catalogue entry says so), so it is the backend that refuses
    request = GenerateRequest(
        model="qwen-vl-plus",
        messages=(Message(Role.USER, (ImagePart("data:image/png;base64,AA=="),)),),
    )
    backend = ScriptedBackend(features=BackendFeatures())
    routes = {"smollm2-135m-instruct": Route("b", "smollm2-135m-instruct")}
    router = Router(default_catalog(), routes, {"qwen-vl-plus": "smollm2-135m-instruct"}, created=1)
    with pytest.raises(InvalidParameter) as caught:
        await started(Engine(router, {"b": backend}, unused_store()), request, stream=False)
    assert caught.value.param == "messages"
    assert "not supported yet by the backend" in caught.value.message


async def test_tool_history_needs_a_tool_backend() -> None:
    request = GenerateRequest(
        model="qwen-plus",
        messages=(
            Message(Role.USER, (TextPart("q"),)),
            Message(Role.ASSISTANT, (ToolCallPart("c", "f", "{}"),)),
        ),
    )
    with pytest.raises(InvalidParameter):
        await started(engine(ScriptedBackend(features=BackendFeatures())), request, stream=False)


async def test_closing_the_stream_closes_the_backend_generator() -> None:
    closed = []

    class Tracking(ScriptedBackend):
        async def generate(self, request, model):  # type: ignore[no-untyped-def,override]
            try:
                async for event in super().generate(request, model):
                    yield event
            finally:
                closed.append(True)

    stream = await started(engine(Tracking()), ask("a b c d"), stream=True)
    await anext(stream)
    await stream.aclose()
    assert closed == [True]


async def test_default_thinking_falls_back_when_the_backend_cannot_think() -> None:
    backend = ScriptedBackend(features=BackendFeatures())
    routes = {"smollm2-135m-instruct": Route("b", "smollm2-135m-instruct")}
    router = Router(default_catalog(), routes, {"qwen3.6-plus": "smollm2-135m-instruct"}, created=1)
    served = Engine(router, {"b": backend}, unused_store())
    stream = await started(served, ask("hi", model="qwen3.6-plus"), stream=False)
    [event async for event in stream]
    sent, _ = backend.requests[-1]
    assert sent.thinking.enabled is False
    explicit = replace(ask("hi", model="qwen3.6-plus"), thinking=ThinkingConfig(enabled=True))
    with pytest.raises(InvalidParameter) as caught:
        await started(served, explicit, stream=False)
    assert caught.value.param == Field.THINKING


async def test_features_are_per_model() -> None:
    """One backend, two models that differ: each request is checked against its own."""

    class TwoModels(ScriptedBackend):
        def features(self, model: str) -> BackendFeatures:
            return BackendFeatures(tools=model == "with-tools")

    backend = TwoModels()
    routes = {name: Route("b", name) for name in ("with-tools", "without-tools")}
    router = Router(
        default_catalog(), routes, {}, created=1, features=lambda r: backend.features(r.model)
    )
    served = Engine(router, {"b": backend}, unused_store())
    tool = ToolSpec("f", parameters={"type": "object"})
    ok = replace(ask("hi", model="with-tools"), tools=(tool,))
    [event async for event in await started(served, ok, stream=False)]
    refused = replace(ask("hi", model="without-tools"), tools=(tool,))
    with pytest.raises(InvalidParameter) as caught:
        await started(served, refused, stream=False)
    assert caught.value.param == Field.TOOLS


async def test_a_call_past_its_deadline_ends_with_a_timeout() -> None:
    served = engine(ScriptedBackend(delay=0.2))  # each event takes 0.2 s
    call = Call(CALLER, ask("a b c d e f"), stream=True, deadline=time.monotonic() + 0.5)
    events = served.generate(call)
    seen = []
    with pytest.raises(InternalError) as caught:
        async for event in events:
            seen.append(event)
    assert caught.value.code == "RequestTimeOut"
    assert 0 < len(seen) < 8  # it ran, and was cut short
