"""A Qwen-Omni route on a Model Studio upstream through the HTTP app, with the official
`openai` SDK: the spoken answer streams as chat `delta.audio` chunks and, for a client that
does not stream, comes back whole as `message.audio`; the request's audio settings are
checked as Model Studio checks them."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from fastapi.testclient import TestClient

from openscope.backends.base import BackendFeatures
from openscope.backends.openai_upstream import UpstreamBackend
from openscope.backends.openai_upstream.options import UpstreamOptions
from openscope.backends.scripted import ScriptedBackend
from openscope.server import create_app
from openscope.settings import Settings
from tests.backends.openai_upstream.fakes import FakeTransport, Reply
from tests.backends.openai_upstream.omni import (
    AUDIO_ID,
    EXPIRES,
    OMNI_STREAM,
    PCM,
    SPOKEN,
    TRANSCRIPT,
)

MODEL = "qwen3-omni-flash"
SPEAK: dict[str, Any] = {
    "modalities": ["text", "audio"],
    "audio": {"voice": "Cherry", "format": "wav"},
}


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[openai.OpenAI, FakeTransport]]:
    fake = FakeTransport(Reply(lines=OMNI_STREAM), Reply(lines=OMNI_STREAM))
    options = UpstreamOptions(url="http://upstream.test/v1", dialect="dashscope", audio_output=True)
    settings = Settings.model_validate(
        {
            "api_keys": ["sk-test"],
            "data_dir": str(tmp_path / "data"),
            "backends": {"up": {"type": "scripted"}, "embedded": {"type": "scripted"}},
            "routes": {MODEL: "up", "qwen-plus": "embedded"},
        }
    )
    # "embedded" stands for a backend that can neither hear nor speak (the llama.cpp one)
    plain = ScriptedBackend(features=BackendFeatures(tools=True, vision=True))
    backends = {"up": UpstreamBackend(options, transport=fake), "embedded": plain}
    with TestClient(create_app(settings, backends=backends)) as http:
        sdk = openai.OpenAI(
            api_key="sk-test", base_url="http://testserver/compatible-mode/v1", http_client=http
        )
        yield sdk, fake


def ask(sdk: openai.OpenAI, **fields: Any) -> Any:
    return sdk.chat.completions.create(
        model=fields.pop("model", MODEL),
        messages=[{"role": "user", "content": "who are you?"}],
        **fields,
    )


def test_a_spoken_answer_streams_as_audio_deltas(served: Any) -> None:
    sdk, fake = served
    stream = ask(sdk, stream=True, stream_options={"include_usage": True}, extra_body=SPEAK)
    audio: list[dict[str, Any]] = []
    usage = None
    for chunk in stream:
        usage = chunk.usage or usage
        spoken = getattr(chunk.choices[0].delta, "audio", None) if chunk.choices else None
        if spoken is not None:  # the SDK keeps a field it has no type for as a model
            audio.append(spoken.model_dump(exclude_none=True))
    transcript = "".join(a.get("transcript", "") for a in audio)
    data = b"".join(base64.b64decode(a["data"]) for a in audio if "data" in a)
    assert transcript == TRANSCRIPT
    assert data == b"".join(PCM)
    assert {a["id"] for a in audio if "data" in a} == {AUDIO_ID}
    assert {a["expires_at"] for a in audio if "data" in a} == {EXPIRES}
    assert usage is not None and usage.completion_tokens_details is not None
    assert usage.completion_tokens_details.audio_tokens == 84
    body = fake.sent[0][1]
    assert body["modalities"] == ["text", "audio"]
    assert body["audio"] == {"voice": "Cherry", "format": "wav"}


def test_a_client_that_does_not_stream_gets_the_audio_whole(served: Any) -> None:
    sdk, fake = served
    completion = ask(sdk, extra_body=SPEAK)
    audio = completion.choices[0].message.audio
    assert audio is not None
    assert (audio.id, audio.data, audio.expires_at, audio.transcript) == (
        AUDIO_ID,
        SPOKEN,
        EXPIRES,
        TRANSCRIPT,
    )
    assert fake.sent[0][1]["stream"] is True  # Model Studio's Omni streams only


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"audio": {"voice": "Cherry", "format": "wav"}}, "audio"),  # without modalities
        ({"modalities": ["text", "audio"], "audio": {"voice": "Cherry"}}, "audio"),
        ({"modalities": ["audio"]}, "modalities"),
    ],
)
def test_audio_settings_are_checked(served: Any, fields: dict[str, Any], param: str) -> None:
    sdk, fake = served
    with pytest.raises(openai.BadRequestError) as refused:
        ask(sdk, extra_body=fields)
    assert refused.value.body["param"] == param  # type: ignore[index]
    assert not fake.sent


def test_a_backend_that_cannot_hear_refuses_audio_by_name(served: Any) -> None:
    sdk, _ = served
    with pytest.raises(openai.BadRequestError) as refused:
        sdk.chat.completions.create(
            model=MODEL,  # the catalogue says it hears; the Model Studio route is not told so
            messages=[
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "input_audio",
                            "input_audio": {"data": "UklGRg==", "format": "wav"},
                        }
                    ],
                }
            ],
        )
    assert refused.value.body["param"] == "messages"  # type: ignore[index]
    assert "not supported yet by the backend" in refused.value.body["message"]  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as refused:
        ask(sdk, model="qwen-plus", extra_body=SPEAK)  # the catalogue: qwen-plus cannot speak
    assert refused.value.body["param"] == "modalities"  # type: ignore[index]
