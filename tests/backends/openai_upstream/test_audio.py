"""Qwen-Omni through an upstream: a spoken answer asked for (modalities, audio) where the
engine can speak, its delta.audio read as audio events and folded whole; audio sent by the
client forwarded where the engine hears it; both refused by name elsewhere."""

from __future__ import annotations

from typing import Any

import pytest

from openscope.backends.openai_upstream import UpstreamBackend
from openscope.backends.openai_upstream.options import UpstreamOptions
from openscope.core.errors import InvalidParameter
from openscope.core.events import AudioDelta, Event
from openscope.core.fold import SpokenAnswer, fold
from openscope.core.messages import AudioPart, Message, Role, TextPart
from openscope.core.request import AudioOutput, GenerateRequest
from tests.backends.openai_upstream.fakes import FakeTransport, Reply, delta, sse, usage_chunk
from tests.backends.openai_upstream.omni import (
    AUDIO_ID,
    EXPIRES,
    OMNI_STREAM,
    SPOKEN,
    TRANSCRIPT,
)

URL = "http://upstream.test/v1"
HELLO = (Message(Role.USER, (TextPart("who are you?"),)),)
SPEAK = {"output_modalities": ("text", "audio"), "audio": AudioOutput("Cherry", "wav")}


def upstream(fake: FakeTransport, **options: Any) -> UpstreamBackend:
    return UpstreamBackend(UpstreamOptions.model_validate({"url": URL, **options}), transport=fake)


async def events(up: UpstreamBackend, request: GenerateRequest) -> list[Event]:
    return [e async for e in up.generate(request, "qwen3-omni-flash")]


async def test_a_spoken_answer_is_asked_for_and_folded_whole() -> None:
    fake = FakeTransport(Reply(lines=OMNI_STREAM))
    up = upstream(fake, dialect="dashscope", audio_output=True)
    got = await events(up, GenerateRequest(model="omni", messages=HELLO, **SPEAK))
    assert fake.sent[0][1] == {
        "model": "qwen3-omni-flash",
        "messages": [{"role": "user", "content": "who are you?"}],
        "stream": True,
        "stream_options": {"include_usage": True},
        "modalities": ["text", "audio"],
        "audio": {"voice": "Cherry", "format": "wav"},
    }
    spoken = [e for e in got if isinstance(e, AudioDelta)]
    assert [e.transcript for e in spoken if e.transcript] == ["Hello, ", "I am Qwen."]
    assert {e.id for e in spoken if e.data} == {AUDIO_ID}
    result = fold(got)
    assert result.choices[0].audio == SpokenAnswer(SPOKEN, TRANSCRIPT, AUDIO_ID, EXPIRES)
    assert result.usage.output_audio_tokens == 84
    assert result.usage.output_tokens == 103


async def test_the_default_voice_when_no_audio_settings_are_given() -> None:
    fake = FakeTransport(Reply(lines=OMNI_STREAM))
    up = upstream(fake, dialect="dashscope", audio_output=True)
    await events(
        up, GenerateRequest(model="o", messages=HELLO, output_modalities=("text", "audio"))
    )
    assert fake.sent[0][1]["modalities"] == ["text", "audio"]
    assert "audio" not in fake.sent[0][1]


def test_only_engines_that_speak_offer_audio_output() -> None:
    for dialect, speaks in [("dashscope", True), ("openai", True), ("vllm", False)]:
        up = upstream(FakeTransport(), dialect=dialect, audio_output=True)
        assert up.features("m").audio_output is speaks, dialect
    assert not upstream(FakeTransport(), dialect="dashscope").features("m").audio_output
    # a route mixing in an engine that cannot speak cannot promise it
    mixed = upstream(
        FakeTransport(),
        url=None,
        deployments=[{"url": URL, "dialect": "dashscope"}, {"url": URL, "dialect": "vllm"}],
        audio_output=True,
    )
    assert not mixed.features("m").audio_output


async def test_audio_the_client_sent_reaches_an_engine_that_hears() -> None:
    fake = FakeTransport(
        Reply(lines=sse(delta(content="A bell."), delta(finish="stop"), usage_chunk(30, 2)))
    )
    heard = (Message(Role.USER, (TextPart("what is this?"), AudioPart("UklGRg==", "wav"))),)
    up = upstream(fake, dialect="vllm", audio_input=True)
    assert up.features("m").audio_input
    await events(up, GenerateRequest(model="m", messages=heard))
    assert fake.sent[0][1]["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "what is this?"},
                {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
            ],
        }
    ]


@pytest.mark.parametrize("dialect", ["sglang", "ollama"])
async def test_audio_is_refused_by_name_where_the_engine_cannot_hear_or_speak(
    dialect: str,
) -> None:
    fake = FakeTransport()
    up = upstream(fake, dialect=dialect, audio_input=True, audio_output=True)
    assert not up.features("m").audio_input and not up.features("m").audio_output
    heard = (Message(Role.USER, (AudioPart("UklGRg==", "wav"),)),)
    with pytest.raises(InvalidParameter) as refused:
        await events(up, GenerateRequest(model="m", messages=heard))
    assert refused.value.param == "messages"
    with pytest.raises(InvalidParameter) as refused:
        await events(up, GenerateRequest(model="m", messages=HELLO, **SPEAK))
    assert refused.value.param == "output_modalities"
    assert f"{dialect} upstream" in refused.value.message
    assert not fake.sent
