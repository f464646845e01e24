"""A Qwen-Omni answer as Model Studio streams it with `modalities: ["text","audio"]`: the
transcript and the audio arrive in `delta.audio` (the audio's data with its id and expiry),
the usage last, with the spoken tokens in `completion_tokens_details.audio_tokens`."""

from __future__ import annotations

import base64
from typing import Any

from tests.backends.openai_upstream.fakes import sse

# Pieces of PCM whose lengths are not multiples of 3: their base64 cannot be joined as text.
PCM = (b"\x01\x02\x03\x04", b"\x05\x06\x07\x08\x09", b"\x0a")
AUDIO_ID = "audio_5f1c2d3e-0000-4000-8000-000000000000"
EXPIRES = 1757647879


def _chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "choices": [{"delta": delta, "finish_reason": finish, "index": 0, "logprobs": None}],
        "object": "chat.completion.chunk",
        "usage": None,
        "created": 1757647800,
        "system_fingerprint": None,
        "model": "qwen3-omni-flash",
        "id": "chatcmpl-omni",
    }


def _audio(data: bytes) -> dict[str, Any]:
    encoded = base64.b64encode(data).decode()
    return {"content": None, "audio": {"data": encoded, "expires_at": EXPIRES, "id": AUDIO_ID}}


OMNI_STREAM = sse(
    _chunk({"content": "", "role": "assistant"}),
    _chunk({"content": None, "audio": {"transcript": "Hello, "}}),
    _chunk(_audio(PCM[0])),
    _chunk({"content": None, "audio": {"transcript": "I am Qwen."}}),
    _chunk(_audio(PCM[1])),
    _chunk(_audio(PCM[2])),
    _chunk({"content": ""}, finish="stop"),
    {
        "choices": [],
        "object": "chat.completion.chunk",
        "usage": {
            "prompt_tokens": 15,
            "completion_tokens": 103,
            "total_tokens": 118,
            "completion_tokens_details": {"audio_tokens": 84, "text_tokens": 19},
            "prompt_tokens_details": {"text_tokens": 15},
        },
        "created": 1757647800,
        "system_fingerprint": None,
        "model": "qwen3-omni-flash",
        "id": "chatcmpl-omni",
    },
)
SPOKEN = base64.b64encode(b"".join(PCM)).decode()  # the whole audio, encoded once
TRANSCRIPT = "Hello, I am Qwen."
