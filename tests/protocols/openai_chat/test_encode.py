"""Encoders against golden JSON copied from the seeds' samples."""

import json
from pathlib import Path

from openscope.backends.scripted import text_events
from openscope.core.errors import AuthenticationFailed
from openscope.core.events import Usage, UsageReport
from openscope.core.fold import fold
from openscope.protocols.openai_chat.encode import ChunkEncoder, completion_body, error_body

GOLDEN = Path(__file__).parent / "golden"


def test_completion_matches_the_reference_sample() -> None:
    golden = json.loads((GOLDEN / "completion.json").read_text())
    text = golden["choices"][0]["message"]["content"]
    events = [
        *text_events([text]),
        UsageReport(Usage(input_tokens=3019, output_tokens=104, cached_tokens=2048)),
    ]
    body = completion_body(
        fold(events), completion_id=golden["id"], created=golden["created"], model=golden["model"]
    )
    assert body == golden


def test_stream_matches_the_curl_sample() -> None:
    frames = (GOLDEN / "stream.sse").read_text().strip().split("\n\n")
    golden = [json.loads(f.removeprefix("data: ")) for f in frames[:-1]]
    assert frames[-1] == "data: [DONE]"
    pieces = [g["choices"][0]["delta"]["content"] for g in golden[1:-1]]
    encoder = ChunkEncoder(
        completion_id=golden[0]["id"],
        created=golden[0]["created"],
        model="qwen-plus",
        include_usage=False,
        logprobs=False,
    )
    chunks = [c for e in text_events(pieces) for c in encoder.encode(e)]
    assert chunks == golden
    assert encoder.finish() == []


def test_include_usage_adds_a_last_chunk_without_choices() -> None:
    golden = json.loads((GOLDEN / "usage_chunk.json").read_text())
    encoder = ChunkEncoder(
        completion_id=golden["id"],
        created=golden["created"],
        model="qwen-plus",
        include_usage=True,
        logprobs=False,
    )
    encoder.encode(UsageReport(Usage(input_tokens=22, output_tokens=16)))
    (last,) = encoder.finish()
    assert last["usage"].pop("prompt_tokens_details") == {"cached_tokens": 0}
    assert last == golden


def test_error_body_matches_the_sample() -> None:
    golden = json.loads((GOLDEN / "error.json").read_text())
    body = error_body(AuthenticationFailed("Incorrect API key provided. "), "req-1")
    assert body == {**golden, "request_id": "req-1"}


def test_role_chunk_comes_first_for_every_choice() -> None:
    encoder = ChunkEncoder(
        completion_id="c", created=1, model="m", include_usage=False, logprobs=False
    )
    events = text_events(["a"], choice=0) + text_events(["b"], choice=1)
    chunks = [c for e in events for c in encoder.encode(e)]
    firsts = [c for c in chunks if c["choices"][0]["delta"].get("role") == "assistant"]
    assert [c["choices"][0]["index"] for c in firsts] == [0, 1]
    finals = [c["choices"][0] for c in chunks if c["choices"][0]["finish_reason"]]
    assert [(f["index"], f["finish_reason"]) for f in finals] == [(0, "stop"), (1, "stop")]
