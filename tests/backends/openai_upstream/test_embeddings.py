"""`UpstreamEmbedder` against a fake OpenAI-compatible `/embeddings` server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from openscope.backends.openai_upstream.embeddings import UpstreamEmbedder, estimated_tokens
from openscope.core.errors import InternalError, InvalidParameter, Overloaded, RateLimited

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def answer(rows: int, dims: int, *, tokens: int | None = 7) -> dict[str, Any]:
    """Row i is (i+1, 0, ...), listed last row first, as nothing obliges an upstream to
    keep the order."""
    data = [
        {"object": "embedding", "index": i, "embedding": [float(i + 1)] + [0.0] * (dims - 1)}
        for i in reversed(range(rows))
    ]
    body: dict[str, Any] = {"object": "list", "data": data, "model": "m"}
    if tokens is not None:
        body["usage"] = {"prompt_tokens": tokens, "total_tokens": tokens}
    return body


@dataclass
class FakeUpstream:
    reply: Handler | None = None
    bodies: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    server: TestServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("/v1"))

    async def _embeddings(self, request: web.Request) -> web.StreamResponse:
        body = orjson.loads(await request.read())
        self.bodies.append(body)
        self.headers.append(dict(request.headers))
        if self.reply is not None:
            return await self.reply(request)
        dims = body.get("dimensions", 4)
        return web.json_response(answer(len(body["input"]), dims))

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/embeddings", self._embeddings)
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()


@pytest.fixture
async def upstream() -> AsyncIterator[FakeUpstream]:
    fake = FakeUpstream()
    await fake.start()
    yield fake
    assert fake.server is not None
    await fake.server.close()


@pytest.fixture
async def closers() -> AsyncIterator[list[UpstreamEmbedder]]:
    made: list[UpstreamEmbedder] = []
    yield made
    for embedder in made:
        await embedder.close()


def make(
    closers: list[UpstreamEmbedder], url: str, dims: int = 4, **options: Any
) -> UpstreamEmbedder:
    embedder = UpstreamEmbedder(url, "BAAI/bge-m3", dims, **options)
    closers.append(embedder)
    return embedder


async def test_forwards_the_texts_and_answers_in_input_order(
    upstream: FakeUpstream, closers: list[UpstreamEmbedder]
) -> None:
    embedder = make(closers, upstream.url, name="bge", api_key="sk-upstream")
    assert (embedder.model, embedder.dimensions) == ("bge", 4)
    result = await embedder.embed(["first", "second", "third"], "query")
    assert upstream.bodies == [
        {"model": "BAAI/bge-m3", "input": ["first", "second", "third"], "encoding_format": "float"}
    ]
    assert upstream.headers[0]["Authorization"] == "Bearer sk-upstream"
    assert [v[0] for v in result.vectors] == [1.0, 2.0, 3.0]
    assert result.tokens == 7


async def test_sends_dimensions_only_when_told(
    upstream: FakeUpstream, closers: list[UpstreamEmbedder]
) -> None:
    await make(closers, upstream.url, dims=8, send_dimensions=True).embed(["a"])
    await make(closers, upstream.url, dims=4).embed(["a"])
    assert upstream.bodies[0]["dimensions"] == 8
    assert "dimensions" not in upstream.bodies[1]
    assert "Authorization" not in upstream.headers[1]


async def test_without_usage_the_tokens_are_estimated(
    upstream: FakeUpstream, closers: list[UpstreamEmbedder]
) -> None:
    async def no_usage(request: web.Request) -> web.StreamResponse:
        return web.json_response(answer(2, 4, tokens=None))

    upstream.reply = no_usage
    result = await make(closers, upstream.url).embed(["hello world", "你好世界"])
    assert result.tokens == estimated_tokens("hello world") + estimated_tokens("你好世界")


async def test_count_tokens_is_an_estimate_that_errs_high_on_cjk(
    closers: list[UpstreamEmbedder],
) -> None:
    embedder = make(closers, "http://127.0.0.1:9/v1")
    assert await embedder.count_tokens(["", "a", "hello world!", "你好世界"]) == [0, 1, 3, 4]


@pytest.mark.parametrize(
    ("status", "error"),
    [(400, InvalidParameter), (429, RateLimited), (503, Overloaded), (401, InternalError)],
)
async def test_upstream_errors_become_core_errors(
    upstream: FakeUpstream, closers: list[UpstreamEmbedder], status: int, error: type[Exception]
) -> None:
    async def refuse(request: web.Request) -> web.StreamResponse:
        return web.json_response({"error": {"message": "input is too long"}}, status=status)

    upstream.reply = refuse
    with pytest.raises(error) as raised:
        await make(closers, upstream.url).embed(["x"])
    if status == 400:
        assert "input is too long" in str(raised.value)
    if status == 401:  # the operator's mistake: logged, never shown to the client
        assert "too long" not in str(raised.value)


async def test_vectors_of_the_wrong_length_are_an_internal_error(
    upstream: FakeUpstream, closers: list[UpstreamEmbedder]
) -> None:
    async def short(request: web.Request) -> web.StreamResponse:
        return web.json_response(answer(1, 3))

    upstream.reply = short
    with pytest.raises(InternalError):
        await make(closers, upstream.url, dims=4).embed(["x"])


async def test_too_few_vectors_or_garbage_are_an_internal_error(
    upstream: FakeUpstream, closers: list[UpstreamEmbedder]
) -> None:
    async def one_row(request: web.Request) -> web.StreamResponse:
        return web.json_response(answer(1, 4))

    upstream.reply = one_row
    with pytest.raises(InternalError):
        await make(closers, upstream.url).embed(["x", "y"])

    async def garbage(request: web.Request) -> web.StreamResponse:
        return web.Response(body=b"<html>oops</html>", content_type="text/html")

    upstream.reply = garbage
    with pytest.raises(InternalError):
        await make(closers, upstream.url).embed(["x"])


async def test_unreachable_or_slow_upstream_is_overloaded(
    upstream: FakeUpstream, closers: list[UpstreamEmbedder]
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(Overloaded):
        await make(closers, f"http://127.0.0.1:{port}/v1").embed(["x"])

    async def slow(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(2)
        return web.json_response(answer(1, 4))

    upstream.reply = slow
    with pytest.raises(Overloaded):
        await make(closers, upstream.url, timeout=0.2).embed(["x"])


async def test_no_texts_ask_nothing(
    upstream: FakeUpstream, closers: list[UpstreamEmbedder]
) -> None:
    assert (await make(closers, upstream.url).embed([])).vectors == ()
    assert upstream.bodies == []


async def test_more_texts_than_a_request_takes_go_in_several(
    upstream: FakeUpstream, closers: list[UpstreamEmbedder]
) -> None:
    texts = [f"text {i}" for i in range(23)]
    result = await make(closers, upstream.url, max_batch_rows=10).embed(texts)
    assert [len(body["input"]) for body in upstream.bodies] == [10, 10, 3]
    assert [b for body in upstream.bodies for b in body["input"]] == texts
    assert len(result.vectors) == 23 and result.tokens == 21  # 7 a request
    assert [v[0] for v in result.vectors[9:12]] == [10.0, 1.0, 2.0]
