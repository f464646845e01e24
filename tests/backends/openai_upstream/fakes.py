"""An in-process fake upstream: a `Transport` that records what the backend sent and answers
with scripted status, headers and body lines, shaped as each engine answers; its GETs
(health, metrics) answer from a table of pages."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson

from openscope.backends.openai_upstream.transport import TransportError, UpstreamResponse


@dataclass
class Reply:
    status: int = 200
    lines: list[bytes] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    cut: bool = False  # the connection breaks after the lines


def sse(*chunks: dict[str, Any] | str, done: bool = True) -> list[bytes]:
    """Chunks as server-sent-event lines, `[DONE]` last unless `done` is false."""
    lines = []
    for chunk in chunks:
        data = chunk.encode() if isinstance(chunk, str) else orjson.dumps(chunk)
        lines += [b"data: " + data, b""]
    if done:
        lines += [b"data: [DONE]", b""]
    return lines


def delta(index: int = 0, finish: str | None = None, **fields: Any) -> dict[str, Any]:
    return {"choices": [{"index": index, "delta": fields, "finish_reason": finish}]}


def usage_chunk(prompt: int, completion: int, cached: int = 0) -> dict[str, Any]:
    return {
        "choices": [],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "prompt_tokens_details": {"cached_tokens": cached},
        },
    }


class FakeTransport:
    def __init__(self, *replies: Reply | Exception) -> None:
        self.replies = list(replies)
        self.sent: list[tuple[str, dict[str, Any], dict[str, str]]] = []
        self.released = 0
        self.closed = False
        self.down: set[str] = set()  # health-check URLs that fail
        self.checked: list[str] = []  # every URL asked for with a GET, in order
        # GET answers by URL: (status, body), or an exception to raise. Not listed: a health
        # path answers 200 (503 when in `down`), anything else 404.
        self.pages: dict[str, tuple[int, bytes] | Exception] = {}

    @asynccontextmanager
    async def post(
        self, url: str, body: Mapping[str, Any], headers: Mapping[str, str]
    ) -> AsyncIterator[UpstreamResponse]:
        self.sent.append((url, dict(body), dict(headers)))
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply

        async def lines() -> AsyncIterator[bytes]:
            for line in reply.lines:
                yield line
            if reply.cut:
                raise TransportError("ClientPayloadError: the connection broke")

        try:
            yield UpstreamResponse(reply.status, reply.headers, lines())
        finally:
            self.released += 1

    async def get(self, url: str, headers: Mapping[str, str]) -> tuple[int, bytes]:
        self.checked.append(url)
        page = self.pages.get(url)
        if isinstance(page, Exception):
            raise page
        if page is not None:
            return page
        if url in self.down:
            return 503, b'{"error": "loading"}'
        return (200, b"OK") if url.endswith(("/health", "/")) else (404, b"Not Found")

    async def close(self) -> None:
        self.closed = True
