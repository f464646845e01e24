"""Images through the HTTP app to an upstream that reads only inline images: each API's
image reaches the same canonical image part, is fetched by the server and sent as a data:
URL, or is refused in that API's own error shape, naming where the client put it."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from openscope.backends.openai_upstream import UpstreamBackend
from openscope.backends.openai_upstream.options import UpstreamOptions
from openscope.backends.registry import BackendRegistry
from openscope.server import create_app
from openscope.server.app import build_backends
from openscope.settings import Settings
from openscope.tools.fetch import networks
from openscope.tools.fetch.images import SafeImageFetcher, image_policy
from tests.backends.openai_upstream.fakes import FakeTransport, Reply, delta, sse, usage_chunk
from tests.backends.openai_upstream.image_server import PNG, image_server

MODEL = "qwen3-vl-plus"  # a vision model of the catalogue
ANSWER = sse(delta(content="A pixel."), delta(finish="stop"), usage_chunk(9, 3))
INLINE_PNG = f"data:image/png;base64,{base64.b64encode(PNG).decode()}"


@pytest.fixture(scope="module")
def images() -> Iterator[str]:
    with image_server() as base:
        yield base


def settings(tmp_path: Path, **fields: Any) -> Settings:
    return Settings.model_validate(
        {
            "api_keys": ["sk-test"],
            "data_dir": str(tmp_path / "data"),
            "backends": {"up": {"type": "scripted"}},
            "routes": {MODEL: "up"},
            **fields,
        }
    )


@pytest.fixture
def app(tmp_path: Path) -> Iterator[tuple[TestClient, FakeTransport, list[SafeImageFetcher]]]:
    """A client over an llama-server upstream; the fetcher allows 127.0.0.1 (the test image
    server) unless the test swaps in the default one."""
    fake = FakeTransport(*[Reply(lines=ANSWER) for _ in range(4)])
    fetchers = [SafeImageFetcher(image_policy(allow=networks("127.0.0.1")))]

    class Switchable:
        async def fetch_image(self, url: str) -> Any:
            return await fetchers[-1].fetch_image(url)

    options = UpstreamOptions(url="http://upstream.test/v1", dialect="llama-server", vision=True)
    backend = UpstreamBackend(options, transport=fake, images=Switchable())
    with TestClient(
        create_app(settings(tmp_path), backends={"up": backend}),
        headers={"Authorization": "Bearer sk-test"},
    ) as client:
        yield client, fake, fetchers


def sent_image(fake: FakeTransport) -> Any:
    return fake.sent[-1][1]["messages"][-1]["content"][1]["image_url"]["url"]


def chat(client: TestClient, url: str) -> Any:
    content = [{"type": "text", "text": "what?"}, {"type": "image_url", "image_url": {"url": url}}]
    return client.post(
        "/compatible-mode/v1/chat/completions",
        json={"model": MODEL, "messages": [{"role": "user", "content": content}]},
    )


def anthropic(client: TestClient, url: str) -> Any:
    content = [
        {"type": "text", "text": "what?"},
        {"type": "image", "source": {"type": "url", "url": url}},
    ]
    return client.post(
        "/apps/anthropic/v1/messages",
        json={"model": MODEL, "max_tokens": 64, "messages": [{"role": "user", "content": content}]},
    )


def responses(client: TestClient, url: str) -> Any:
    content = [{"type": "input_text", "text": "what?"}, {"type": "input_image", "image_url": url}]
    return client.post(
        "/compatible-mode/v1/responses",
        json={"model": MODEL, "store": False, "input": [{"role": "user", "content": content}]},
    )


def test_chat_images_are_fetched_and_sent_inline(app: Any, images: str) -> None:
    client, fake, _ = app
    answer = chat(client, f"{images}/pixel.png")
    assert answer.status_code == 200, answer.text
    assert answer.json()["choices"][0]["message"]["content"] == "A pixel."
    assert sent_image(fake) == INLINE_PNG


def test_anthropic_url_images_take_the_same_path(app: Any, images: str) -> None:
    client, fake, _ = app
    answer = anthropic(client, f"{images}/pixel.png")
    assert answer.status_code == 200, answer.text
    assert sent_image(fake) == INLINE_PNG


def test_responses_input_images_take_the_same_path(app: Any, images: str) -> None:
    client, fake, _ = app
    answer = responses(client, f"{images}/pixel.png")
    assert answer.status_code == 200, answer.text
    assert sent_image(fake) == INLINE_PNG


def test_a_refused_image_is_a_400_in_each_api_s_shape(app: Any, images: str) -> None:
    client, fake, fetchers = app
    fetchers.append(SafeImageFetcher())  # the default policy: loopback refused
    answer = chat(client, f"{images}/pixel.png")
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["param"] == "messages[0].content[1].image_url"
    assert error["type"] == "invalid_request_error"
    assert "messages[0].content[1].image_url" in error["message"]
    assert "loopback" in error["message"]

    answer = anthropic(client, f"{images}/pixel.png")
    assert answer.status_code == 400
    body = answer.json()
    assert body["type"] == "error"
    assert body["error"]["type"] == "invalid_request_error"
    assert "messages.0.content.1.source.url" in body["error"]["message"]

    answer = responses(client, f"{images}/pixel.png")
    assert answer.status_code == 400
    body = answer.json()  # the Responses API's flat shape
    assert body["code"] == "invalid_parameter_error"
    assert "input[0].content[1].image_url" in body["message"]
    assert not fake.sent  # nothing went upstream


def test_the_app_lends_upstream_backends_its_image_fetcher(tmp_path: Path) -> None:
    upstream = {"type": "openai_upstream", "url": "http://10.0.0.5:8000/v1", "dialect": "ollama"}
    configured = settings(
        tmp_path,
        backends={"up": upstream},
        image_fetch={"allow_networks": ["127.0.0.1"], "max_image_bytes": 4096},
    )
    backend = build_backends(configured, BackendRegistry.with_defaults())["up"]
    assert isinstance(backend, UpstreamBackend)
    fetcher = backend._images
    assert isinstance(fetcher, SafeImageFetcher)
    assert fetcher.policy.allow == networks("127.0.0.1")
    assert fetcher.policy.max_bytes == 4096
