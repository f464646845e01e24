"""Images on their way to an upstream: forwarded by URL to an engine that fetches URLs
itself, fetched here (SSRF-safe) and sent as data: URLs to one that reads only inline
images, and refused, naming the image, when they cannot be had."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from typing import Any

import pytest

from openscope.backends.openai_upstream import UpstreamBackend
from openscope.backends.openai_upstream.images import CONCURRENT_FETCHES, MAX_FETCHED_BYTES
from openscope.backends.openai_upstream.options import UpstreamOptions
from openscope.core.errors import InvalidParameter
from openscope.core.media import FetchedImage, ImageUnavailable
from openscope.core.messages import ImagePart, Message, Role, TextPart, ToolResultPart
from openscope.core.request import GenerateRequest
from openscope.tools.fetch import networks
from openscope.tools.fetch.images import SafeImageFetcher, image_policy
from tests.backends.openai_upstream.fakes import FakeTransport, Reply, delta, sse, usage_chunk
from tests.backends.openai_upstream.image_server import GIF, PNG, image_server

URL = "http://upstream.test/v1"
ANSWER = sse(delta(content="A pixel."), delta(finish="stop"), usage_chunk(9, 3))
WHERE = "messages[0].content[1].image_url"


@pytest.fixture(scope="module")
def images() -> Iterator[str]:
    with image_server() as base:
        yield base


def local_fetcher(**limits: Any) -> SafeImageFetcher:
    """The test server is on 127.0.0.1, which the default policy refuses: allowed here."""
    return SafeImageFetcher(image_policy(allow=networks("127.0.0.1"), **limits))


class CountingFetcher:
    """Serves any URL as a PNG, counting the fetches and how many ran at once."""

    def __init__(self) -> None:
        self.urls: list[str] = []
        self.running = 0
        self.most = 0

    async def fetch_image(self, url: str) -> FetchedImage:
        self.urls.append(url)
        self.running += 1
        self.most = max(self.most, self.running)
        await asyncio.sleep(0.01)
        self.running -= 1
        return FetchedImage("image/png", PNG)


class NoFetcher:
    async def fetch_image(self, url: str) -> FetchedImage:
        raise AssertionError(f"nothing should be fetched, asked for {url}")


def upstream(fake: FakeTransport, fetcher: Any, **options: Any) -> UpstreamBackend:
    settings = UpstreamOptions.model_validate({"url": URL, "vision": True, **options})
    return UpstreamBackend(settings, transport=fake, images=fetcher)


def looking_at(*urls: str) -> GenerateRequest:
    parts: list[Any] = [TextPart("what is this?")]
    parts += [
        ImagePart(u, origin=f"messages[0].content[{i + 1}].image_url") for i, u in enumerate(urls)
    ]
    return GenerateRequest(model="served", messages=(Message(Role.USER, tuple(parts)),))


async def send(up: UpstreamBackend, request: GenerateRequest) -> dict[str, Any]:
    async for _ in up.generate(request, "qwen-vl"):
        pass
    return up_sent(up)


def up_sent(up: UpstreamBackend) -> dict[str, Any]:
    transport = up._transport
    assert isinstance(transport, FakeTransport)
    return transport.sent[-1][1]


def data_url(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def with_image(url: str, detail: str | None = None) -> list[dict[str, Any]]:
    image: dict[str, Any] = {"url": url}
    if detail:
        image["detail"] = detail
    return [
        {"type": "text", "text": "what is this?"},
        {"type": "image_url", "image_url": image},
    ]


async def test_an_engine_that_fetches_urls_gets_the_url_untouched(images: str) -> None:
    fake = FakeTransport(Reply(lines=ANSWER))
    body = await send(upstream(fake, NoFetcher(), dialect="vllm"), looking_at(f"{images}/x.png"))
    assert body["messages"] == [{"role": "user", "content": with_image(f"{images}/x.png")}]


async def test_an_engine_that_reads_only_inline_images_gets_the_bytes(images: str) -> None:
    fake = FakeTransport(Reply(lines=ANSWER))
    up = upstream(fake, local_fetcher(), dialect="llama-server")
    body = await send(up, looking_at(f"{images}/pixel.png"))
    assert body == {
        "model": "qwen-vl",
        "messages": [{"role": "user", "content": with_image(data_url("image/png", PNG))}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }


async def test_ollama_gets_the_bytes_of_the_types_it_decodes(images: str) -> None:
    fake = FakeTransport(Reply(lines=ANSWER))
    up = upstream(fake, local_fetcher(), dialect="ollama")
    body = await send(up, looking_at(f"{images}/pixel.png"))
    assert body["messages"][0]["content"][1]["image_url"]["url"] == data_url("image/png", PNG)
    # a GIF its server would refuse ("invalid image input") is refused here, by place
    with pytest.raises(InvalidParameter) as refused:
        await send(up, looking_at(f"{images}/pixel.gif"))
    assert refused.value.param == WHERE
    assert "image/gif" in refused.value.message
    assert "image/jpeg, image/png, image/webp" in refused.value.message
    assert len(fake.sent) == 1


async def test_a_data_url_of_a_type_the_engine_cannot_read_is_refused_here() -> None:
    fake = FakeTransport(Reply(lines=ANSWER))
    up = upstream(fake, NoFetcher(), dialect="llama-server")
    with pytest.raises(InvalidParameter) as refused:
        await send(up, looking_at(data_url("image/webp", b"RIFF")))
    assert refused.value.param == WHERE
    assert "image/webp" in refused.value.message
    assert not fake.sent
    body = await send(up, looking_at(data_url("image/png", PNG)))  # one it reads passes
    assert body["messages"][0]["content"][1]["image_url"]["url"] == data_url("image/png", PNG)


async def test_a_route_may_have_every_image_fetched_here(images: str) -> None:
    fake = FakeTransport(Reply(lines=ANSWER))
    up = upstream(fake, local_fetcher(), dialect="vllm", fetch_images=True)
    body = await send(up, looking_at(f"{images}/pixel.gif"))
    assert body["messages"][0]["content"][1]["image_url"]["url"] == data_url("image/gif", GIF)


async def test_data_urls_pass_unchanged() -> None:
    fake = FakeTransport(Reply(lines=ANSWER))
    inline = data_url("image/png", PNG)
    body = await send(upstream(fake, NoFetcher(), dialect="llama-server"), looking_at(inline))
    assert body["messages"][0]["content"][1]["image_url"] == {"url": inline}


async def test_the_default_policy_refuses_a_loopback_image(images: str) -> None:
    fake = FakeTransport()
    up = upstream(fake, SafeImageFetcher(), dialect="llama-server")
    with pytest.raises(InvalidParameter) as refused:
        await send(up, looking_at(f"{images}/pixel.png"))
    assert refused.value.param == WHERE
    assert refused.value.message.startswith(f"The image in {WHERE} cannot be used: it could not")
    assert "loopback" in refused.value.message
    assert not fake.sent  # refused before any byte went upstream


@pytest.mark.parametrize(
    ("path", "limits", "problem"),
    [
        ("/page.html", {}, "content type text/html is not accepted"),
        ("/big.png", {"max_bytes": 10_000}, "larger than 10000 bytes"),
        ("/gone.png", {}, "HTTP 404"),
    ],
)
async def test_an_image_that_cannot_be_had_is_refused_by_place(
    images: str, path: str, limits: dict[str, Any], problem: str
) -> None:
    fake = FakeTransport()
    up = upstream(fake, local_fetcher(**limits), dialect="llama-server")
    with pytest.raises(InvalidParameter) as refused:
        await send(up, looking_at(f"{images}/pixel.png", f"{images}{path}"))
    assert refused.value.param == "messages[0].content[2].image_url"
    assert problem in refused.value.message
    assert not fake.sent


@pytest.mark.parametrize("dialect", ["vllm", "llama-server"])
async def test_other_schemes_are_refused_whatever_the_engine(dialect: str) -> None:
    fake = FakeTransport()
    with pytest.raises(InvalidParameter) as refused:
        await send(upstream(fake, NoFetcher(), dialect=dialect), looking_at("file:///etc/passwd"))
    assert refused.value.param == WHERE
    assert "only http, https and data: URLs" in refused.value.message
    assert not fake.sent


async def test_without_a_fetcher_an_inline_engine_refuses_image_urls() -> None:
    fake = FakeTransport()
    with pytest.raises(InvalidParameter) as refused:
        await send(upstream(fake, None, dialect="ollama"), looking_at("https://example.com/a.png"))
    assert refused.value.param == WHERE
    assert "reads only inline (data:) images" in refused.value.message


async def test_a_request_s_images_are_fetched_at_once_a_few_at_a_time_each_once() -> None:
    fake = FakeTransport(Reply(lines=ANSWER))
    fetcher = CountingFetcher()
    urls = [f"https://example.com/{i}.png" for i in range(10)]
    body = await send(upstream(fake, fetcher, dialect="llama-server"), looking_at(*urls, urls[0]))
    assert sorted(fetcher.urls) == sorted(urls)  # the repeated one once
    assert 1 < fetcher.most <= 4
    sent = [p["image_url"]["url"] for p in body["messages"][0]["content"][1:]]
    assert sent == [data_url("image/png", PNG)] * 11


async def test_a_request_s_fetched_images_are_bounded_in_bytes_together() -> None:
    class Big:
        def __init__(self) -> None:
            self.fetched = 0

        async def fetch_image(self, url: str) -> FetchedImage:
            self.fetched += 1
            await asyncio.sleep(0.001)
            return FetchedImage("image/png", bytes(MAX_FETCHED_BYTES // 3 + 1))

    fake = FakeTransport(Reply(lines=ANSWER))
    fetcher = Big()
    urls = [f"https://example.com/{i}.png" for i in range(40)]
    with pytest.raises(InvalidParameter) as refused:
        await send(upstream(fake, fetcher, dialect="llama-server"), looking_at(*urls))
    assert f"add up to more than {MAX_FETCHED_BYTES} bytes" in refused.value.message
    assert fetcher.fetched <= 3 + CONCURRENT_FETCHES  # it stopped fetching, not all 40
    assert fake.sent == []


async def test_images_in_tool_results_are_inlined_too() -> None:
    fake = FakeTransport(Reply(lines=ANSWER))
    from openscope.core.messages import ToolCallPart

    result = ToolResultPart("call_1", (ImagePart("https://example.com/chart.png"),))
    request = GenerateRequest(
        model="served",
        messages=(
            Message(Role.USER, (TextPart("plot it"),)),
            Message(Role.ASSISTANT, (ToolCallPart("call_1", "plot", "{}"),)),
            Message(Role.TOOL, (result,)),
        ),
    )
    body = await send(
        upstream(fake, CountingFetcher(), dialect="llama-server", tools=True), request
    )
    assert body["messages"][2]["content"] == [
        {"type": "image_url", "image_url": {"url": data_url("image/png", PNG)}}
    ]


async def test_an_unavailable_image_from_a_fetcher_names_its_reason() -> None:
    class Refusing:
        async def fetch_image(self, url: str) -> FetchedImage:
            raise ImageUnavailable(
                "example.com resolves to a private address, which is not allowed"
            )

    fake = FakeTransport()
    with pytest.raises(InvalidParameter) as refused:
        await send(
            upstream(fake, Refusing(), dialect="ollama"), looking_at("https://example.com/a")
        )
    assert "private address" in refused.value.message


# -- counting tokens sends what generating would --------------------------------------------


async def test_count_tokens_refuses_what_generating_would() -> None:
    fake = FakeTransport()
    up = upstream(fake, NoFetcher(), dialect="llama-server")
    with pytest.raises(InvalidParameter) as refused:
        await up.count_tokens(looking_at("file:///etc/passwd"), "qwen-vl")
    assert refused.value.param == WHERE
    assert not fake.sent


async def test_count_tokens_sends_an_inline_engine_the_bytes(images: str) -> None:
    fake = FakeTransport(
        Reply(lines=[b'{"prompt": "<|user|>what"}']), Reply(lines=[b'{"tokens": [1, 2, 3]}'])
    )
    up = upstream(fake, local_fetcher(), dialect="llama-server")
    assert await up.count_tokens(looking_at(f"{images}/pixel.png"), "qwen-vl") == 3
    template = fake.sent[0][1]
    assert template["messages"][0]["content"] == with_image(data_url("image/png", PNG))
