"""`image_search` through the whole app, driven by the official openai SDK: a vision route on
the scripted backend and a local index with images. The model calls `image_search` with
Model Studio's arguments; the route's model is asked (a sub-request with the input image)
for a few words on the region; the local index's images are searched for them; the call
comes back as an `image_search_call` item (builtin-tools.md §3.5), streamed, whole and
retrieved alike, with `usage.x_tools.image_search` and the description's tokens in the
usage."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import openai
import orjson
import pytest

from openscope.backends.scripted import ScriptedBackend
from openscope.backends.scripted.backend import text_events
from openscope.core.events import (
    ChoiceEnd,
    Event,
    FinishReason,
    PartDelta,
    PartEnd,
    PartKind,
    PartStart,
)
from openscope.core.messages import ImagePart, Role, TextPart, ToolResultPart
from openscope.core.request import GenerateRequest
from tests.conftest import AppFactory
from tests.protocols.openai_responses.test_image_tools_app import (
    IMAGE_INPUT,
    IMAGES,
    VISION_MODEL,
)
from tests.protocols.openai_responses.test_routes import sdk

ARGUMENTS = '{"img_idx":0,"bbox":[0,0,1000,1000]}'  # as Model Studio's sample writes them
SHOWN = '{"img_idx": 0, "bbox": [0, 0, 1000, 1000]}'
LISTED = [
    {"title": "West Lake at dusk", "url": "https://img.example.com/west-lake.jpg", "index": 1}
]
QUERY_IMAGE = "https://img.example.com/query.jpg"


def searches_by_image(request: GenerateRequest, choice: int) -> list[Event]:
    """Calls image_search once on the input's image, describes that image when asked (the
    sub-request: no tools), then answers with what the tool gave it."""
    if not request.tools:
        (message,) = request.messages
        image, instruction = message.parts
        assert image == ImagePart(QUERY_IMAGE)
        assert isinstance(instruction, TextPart)
        assert instruction.text.startswith("Describe the region (0,0)-(1000,1000)")
        return text_events(["West lake ", "at dusk"], choice=choice)
    last = request.messages[-1]
    if last.role is Role.TOOL:
        result = next(p for p in last.parts if isinstance(p, ToolResultPart))
        return text_events([result.text], choice=choice)
    assert [t.name for t in request.tools] == ["image_search"]
    return [
        PartStart(choice, 0, PartKind.TOOL_CALL, tool_call_id="call_1", tool_name="image_search"),
        PartDelta(choice, 0, ARGUMENTS[:12]),
        PartDelta(choice, 0, ARGUMENTS[12:]),
        PartEnd(choice, 0),
        ChoiceEnd(choice, FinishReason.TOOL_CALLS),
    ]


@pytest.fixture
def client(scripted_client: AppFactory, tmp_path: Path) -> tuple[openai.OpenAI, ScriptedBackend]:
    corpus = tmp_path / "images.jsonl"
    corpus.write_text("".join(orjson.dumps(record).decode() + "\n" for record in IMAGES))
    backend = ScriptedBackend(searches_by_image)
    app = scripted_client(
        backend,
        aliases={VISION_MODEL: "smollm2-135m-instruct"},
        tools={"web_search": {"provider": "local", "source": str(corpus)}},
    )
    return sdk(app), backend


def create(sdk_client: openai.OpenAI, **extra: Any) -> Any:
    return sdk_client.responses.with_raw_response.create(
        model=VISION_MODEL,
        input=IMAGE_INPUT,
        tools=[{"type": "image_search"}],  # type: ignore[list-item]
        **extra,
    )


async def counted(backend: ScriptedBackend) -> int:
    return sum([await backend.count_tokens(r, m) for r, m in backend.requests])


async def test_an_image_search_call_is_an_item_with_x_tools(
    client: tuple[openai.OpenAI, ScriptedBackend],
) -> None:
    sdk_client, backend = client
    raw = create(sdk_client)
    body = raw.http_response.json()
    call, answer = body["output"]
    assert call == {
        "id": call["id"],
        "type": "image_search_call",
        "status": "completed",
        "name": "image_search",
        "arguments": SHOWN,
        "output": json.dumps(LISTED, ensure_ascii=False),
    }
    parsed = raw.parse().output[0]
    assert (parsed.type, getattr(parsed, "name"), getattr(parsed, "output")) == (  # noqa: B009
        "image_search_call",
        "image_search",
        call["output"],
    )
    # the model read what was searched for and the images found
    text = answer["content"][0]["text"]
    assert text.startswith('Searched the web for images of "West lake at dusk", as input image 0')
    assert "[1] West Lake at dusk" in text
    assert body["usage"]["x_tools"] == {"image_search": {"count": 1}}
    # three model requests (the call, the description, the answer), all in the usage
    first, described, _ = (request for request, _ in backend.requests)
    assert [tool.name for tool in first.tools] == ["image_search"]
    assert described.tools == () and described.sampling.max_tokens == 48
    assert body["usage"]["input_tokens"] == await counted(backend)
    assert body["usage"]["output_tokens"] == 2 + 2 + 1
    retrieved = sdk_client.responses.with_raw_response.retrieve(body["id"]).http_response.json()
    assert retrieved["output"] == body["output"]
    assert retrieved["usage"] == body["usage"]


async def test_streamed_the_item_has_no_status_events(
    client: tuple[openai.OpenAI, ScriptedBackend],
) -> None:
    sdk_client, backend = client
    raw = create(sdk_client, stream=True)
    raw.http_response.read()
    lines = raw.http_response.text.splitlines()
    events = [json.loads(line[len("data:") :]) for line in lines if line.startswith("data:")]
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    types = [e["type"] for e in events]
    assert types[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.output_item.done",
    ]
    assert not [t for t in types if "image_search_call" in t]
    added, done = events[2]["item"], events[3]["item"]
    assert added == {
        "id": done["id"],
        "type": "image_search_call",
        "status": "in_progress",
        "name": "image_search",
        "arguments": SHOWN,
    }
    assert done == added | {"status": "completed", "output": json.dumps(LISTED, ensure_ascii=False)}
    assert types[-1] == "response.completed"
    completed = events[-1]["response"]
    assert completed["output"][0] == done
    assert completed["usage"]["x_tools"] == {"image_search": {"count": 1}}
    assert completed["usage"]["input_tokens"] == await counted(backend)
    retrieved = sdk_client.responses.with_raw_response.retrieve(completed["id"])
    stored = retrieved.http_response.json()
    assert stored["output"] == completed["output"]
    assert stored["usage"] == completed["usage"]


def test_a_replayed_image_search_call_reaches_the_model_again(
    client: tuple[openai.OpenAI, ScriptedBackend],
) -> None:
    sdk_client, backend = client
    item = {
        "type": "image_search_call",
        "id": "msg_1",
        "status": "completed",
        "name": "image_search",
        "arguments": ARGUMENTS,
        "output": json.dumps(LISTED),
    }
    answer = sdk_client.responses.create(
        model=VISION_MODEL,
        input=[*IMAGE_INPUT, item, {"role": "user", "content": "and the first one?"}],  # type: ignore[list-item]
        tools=[{"type": "image_search"}],  # type: ignore[list-item]
    )
    assert answer.status == "completed"
    seen, _ = backend.requests[0]
    call, result = seen.messages[1], seen.messages[2]
    assert call.role is Role.ASSISTANT and result.role is Role.TOOL
    assert result.parts[0].text == (  # type: ignore[union-attr]
        "Images found:\n[1] West Lake at dusk (https://img.example.com/west-lake.jpg)"
    )
