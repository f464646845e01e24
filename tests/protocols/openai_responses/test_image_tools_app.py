"""The image tools through the whole app on the scripted backend, driven by the official
openai SDK: a model's `web_search_image` call runs against the local index and comes back
as a `web_search_image_call` item (streamed, whole and retrieved alike) with
`usage.x_tools.web_search_image`; `image_search` is refused before anything runs, saying
why (no image in the input; no image search provider configured; a route whose backend
cannot see images), unless the route's backend runs it itself. Its working path is in
`test_image_search_app.py`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import openai
import orjson
import pytest

from openscope.backends.base import BackendFeatures
from openscope.backends.scripted import ScriptedBackend
from openscope.backends.scripted.backend import text_events
from openscope.core.builtin_tools import BuiltinToolKind
from openscope.core.events import (
    ChoiceEnd,
    Event,
    FinishReason,
    PartDelta,
    PartEnd,
    PartKind,
    PartStart,
)
from openscope.core.messages import Role, ToolResultPart
from openscope.core.request import GenerateRequest
from tests.conftest import AppFactory
from tests.protocols.openai_responses.test_routes import sdk

MODEL = "qwen-plus"
VISION_MODEL = "qwen3-vl-plus"  # a vision model, served by the scripted backend
ARGUMENTS = '{"queries":["west lake","西湖"]}'
IMAGES = [
    {
        "image_url": "https://img.example.com/west-lake.jpg",
        "title": "West Lake at dusk",
        "url": "https://travel.example.com/hangzhou",
    },
    {"image_url": "https://img.example.com/xihu.jpg", "title": "西湖 in spring"},
    {"image_url": "https://img.example.com/dog.jpg", "title": "A dog"},
]
LISTED = [
    {"title": "West Lake at dusk", "url": "https://img.example.com/west-lake.jpg", "index": 1},
    {"title": "西湖 in spring", "url": "https://img.example.com/xihu.jpg", "index": 2},
]
IMAGE_INPUT: list[Any] = [
    {
        "role": "user",
        "content": [
            {"type": "input_text", "text": "find this picture"},
            {"type": "input_image", "image_url": "https://img.example.com/query.jpg"},
        ],
    }
]


def searches_images(request: GenerateRequest, choice: int) -> list[Event]:
    """Calls web_search_image once, then answers with what the tool gave it (so the answer
    shows the result was in the model's context)."""
    last = request.messages[-1]
    if last.role is Role.TOOL:
        result = next(p for p in last.parts if isinstance(p, ToolResultPart))
        return text_events([result.text], choice=choice)
    assert [t.name for t in request.tools] == ["web_search_image"]
    return [
        PartStart(
            choice, 0, PartKind.TOOL_CALL, tool_call_id="call_1", tool_name="web_search_image"
        ),
        PartDelta(choice, 0, ARGUMENTS[:10]),
        PartDelta(choice, 0, ARGUMENTS[10:]),
        PartEnd(choice, 0),
        ChoiceEnd(choice, FinishReason.TOOL_CALLS),
    ]


@pytest.fixture
def client(scripted_client: AppFactory, tmp_path: Path) -> tuple[openai.OpenAI, ScriptedBackend]:
    corpus = tmp_path / "images.jsonl"
    corpus.write_text("".join(orjson.dumps(record).decode() + "\n" for record in IMAGES))
    backend = ScriptedBackend(searches_images)
    app = scripted_client(
        backend, tools={"web_search": {"provider": "local", "source": str(corpus)}}
    )
    return sdk(app), backend


def test_a_web_search_image_call_is_an_item_with_x_tools(
    client: tuple[openai.OpenAI, ScriptedBackend],
) -> None:
    sdk_client, backend = client
    raw = sdk_client.responses.with_raw_response.create(
        model=MODEL,
        input="pictures of West Lake",
        tools=[{"type": "web_search_image"}],  # type: ignore[list-item]
    )
    body = raw.http_response.json()
    call, answer = body["output"]
    assert call == {
        "id": call["id"],
        "type": "web_search_image_call",
        "status": "completed",
        "name": "web_search_image",
        "arguments": '{"queries": ["west lake", "西湖"]}',
        "output": json.dumps(LISTED, ensure_ascii=False),
    }
    assert json.loads(call["output"]) == LISTED
    # the SDK reads the unknown item type with its fields kept
    parsed = raw.parse().output[0]
    assert (parsed.type, getattr(parsed, "name"), getattr(parsed, "output")) == (  # noqa: B009
        "web_search_image_call",
        "web_search_image",
        call["output"],
    )
    # the model read the images (its answer repeats the tool's result)
    assert "[1] West Lake at dusk" in answer["content"][0]["text"]
    assert "Image: https://img.example.com/west-lake.jpg" in answer["content"][0]["text"]
    assert body["usage"]["x_tools"] == {"web_search_image": {"count": 1}}
    assert body["tools"] == [{"type": "web_search_image"}]
    # the model was offered the tool as a function
    first, _ = list(backend.requests)[-2]
    assert [tool.name for tool in first.tools] == ["web_search_image"]
    retrieved = sdk_client.responses.with_raw_response.retrieve(body["id"]).http_response.json()
    assert retrieved["output"] == body["output"]
    assert retrieved["usage"] == body["usage"]


def test_streamed_the_item_has_no_status_events(
    client: tuple[openai.OpenAI, ScriptedBackend],
) -> None:
    sdk_client, _ = client
    raw = sdk_client.responses.with_raw_response.create(
        model=MODEL,
        input="pictures of West Lake",
        tools=[{"type": "web_search_image"}],  # type: ignore[list-item]
        stream=True,
    )
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
    assert not [t for t in types if "web_search_image_call" in t]
    added, done = events[2]["item"], events[3]["item"]
    assert added == {
        "id": done["id"],
        "type": "web_search_image_call",
        "status": "in_progress",
        "name": "web_search_image",
        "arguments": '{"queries": ["west lake", "西湖"]}',
    }
    assert done == added | {"status": "completed", "output": json.dumps(LISTED, ensure_ascii=False)}
    assert types[-1] == "response.completed"
    completed = events[-1]["response"]
    assert completed["output"][0] == done
    assert completed["usage"]["x_tools"] == {"web_search_image": {"count": 1}}


def test_a_replayed_web_search_image_call_reaches_the_model_again(
    client: tuple[openai.OpenAI, ScriptedBackend],
) -> None:
    sdk_client, backend = client
    listed = json.dumps([{"title": "West Lake", "url": "https://img.example/w.jpg", "index": 1}])
    item = {
        "type": "web_search_image_call",
        "id": "msg_1",
        "status": "completed",
        "name": "web_search_image",
        "arguments": ARGUMENTS,
        "output": listed,
    }
    sdk_client.responses.create(
        model=MODEL,
        input=[item, {"role": "user", "content": "and the second one?"}],  # type: ignore[list-item]
        tools=[{"type": "web_search_image"}],
    )
    seen, _ = backend.requests[0]
    call, result = seen.messages[0], seen.messages[1]
    assert call.role is Role.ASSISTANT and result.role is Role.TOOL
    assert result.parts[0].text == (  # type: ignore[union-attr]
        "Images found:\n[1] West Lake (https://img.example/w.jpg)"
    )


def vision_app(scripted_client: AppFactory, backend: ScriptedBackend) -> openai.OpenAI:
    return sdk(
        scripted_client(
            backend,
            aliases={MODEL: "smollm2-135m-instruct", VISION_MODEL: "smollm2-135m-instruct"},
        )
    )


def refused(client: openai.OpenAI, input_: Any) -> dict[str, Any]:
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(
            model=VISION_MODEL,
            input=input_,
            tools=[{"type": "image_search"}],  # type: ignore[list-item]
        )
    body: dict[str, Any] = caught.value.body  # type: ignore[assignment]
    assert set(body) == {"code", "message", "request_id"}
    assert body["code"] == "invalid_parameter_error"
    return body


def test_image_search_without_an_image_is_refused(scripted_client: AppFactory) -> None:
    backend = ScriptedBackend()
    body = refused(vision_app(scripted_client, backend), "find pictures like this")
    assert body["message"] == "The built-in tool image_search needs an image in input."
    assert not backend.requests


def test_image_search_without_a_search_provider_is_refused(scripted_client: AppFactory) -> None:
    backend = ScriptedBackend()
    body = refused(vision_app(scripted_client, backend), IMAGE_INPUT)
    assert body["message"] == (
        "The built-in tool image_search needs an image search provider, and none is "
        "configured on this server."
    )
    assert not backend.requests


@pytest.mark.parametrize("with_provider", [True, False])
def test_image_search_on_a_backend_that_cannot_see_is_refused(
    scripted_client: AppFactory, tmp_path: Path, with_provider: bool
) -> None:
    # said whether or not a provider is configured: one would not help
    corpus = tmp_path / "images.jsonl"
    corpus.write_text("".join(orjson.dumps(record).decode() + "\n" for record in IMAGES))
    backend = ScriptedBackend(features=BackendFeatures(tools=True, vision=False))
    tools = {"web_search": {"provider": "local", "source": str(corpus)}} if with_provider else {}
    app = scripted_client(backend, aliases={VISION_MODEL: "smollm2-135m-instruct"}, tools=tools)
    body = refused(sdk(app), IMAGE_INPUT)
    assert body["message"] == (
        "The built-in tool image_search needs a model that can see images; the backend "
        f"serving model {VISION_MODEL} on this server cannot."
    )
    assert not backend.requests


def test_image_search_on_a_backend_without_function_calls_is_refused(
    scripted_client: AppFactory, tmp_path: Path
) -> None:
    corpus = tmp_path / "images.jsonl"
    corpus.write_text("".join(orjson.dumps(record).decode() + "\n" for record in IMAGES))
    backend = ScriptedBackend(features=BackendFeatures(tools=False, vision=True))
    app = scripted_client(
        backend,
        aliases={VISION_MODEL: "smollm2-135m-instruct"},
        tools={"web_search": {"provider": "local", "source": str(corpus)}},
    )
    body = refused(sdk(app), IMAGE_INPUT)
    assert body["message"] == (
        "The built-in tool image_search is not supported yet by the backend serving model "
        f"{VISION_MODEL} on this server."
    )
    assert not backend.requests


def test_a_backend_that_runs_image_search_gets_it(scripted_client: AppFactory) -> None:
    # a Model Studio upstream runs its built-in tools itself: the request goes through
    features = BackendFeatures(
        tools=True, vision=True, builtin_tools=frozenset({BuiltinToolKind.IMAGE_SEARCH})
    )
    backend = ScriptedBackend(features=features)
    client = vision_app(scripted_client, backend)
    response = client.responses.create(
        model=VISION_MODEL,
        input=IMAGE_INPUT,
        tools=[{"type": "image_search"}],  # type: ignore[list-item]
    )
    assert response.status == "completed"
    request, _ = backend.requests[-1]
    assert [tool.kind for tool in request.builtin_tools] == [BuiltinToolKind.IMAGE_SEARCH]
    # Model Studio's own rule still holds there: the input must have an image
    body = refused(client, "find pictures like this")
    assert body["message"] == "The built-in tool image_search needs an image in input."
