"""The upstream's answer as JSON chunks: a Chat Completions stream read line by line until
`[DONE]` (or its end), or a whole completion taken as the one chunk it is. An error the
upstream reports inside its 200 stream ends the reading: about the request (a 4xx code),
`UpstreamRefused`; anything else, a `TransportError`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson

from openscope.backends.openai_upstream.transport import TransportError

DATA = b"data:"


class UpstreamRefused(Exception):
    """The upstream refused the request inside its 200 stream (a 4xx error event)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


async def read_whole(lines: AsyncIterator[bytes]) -> AsyncIterator[dict[str, Any]]:
    """A whole chat completion (asked for without streaming), as the one chunk it is: its
    choices carry `message` where a chunk's carry `delta`, which the reader takes alike."""
    data = b"\n".join([line async for line in lines])
    try:
        answer = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise TransportError(f"an answer that is not JSON: {data[:200]!r}") from None
    if not isinstance(answer, dict) or not isinstance(answer.get("choices"), list):
        raise TransportError(f"an answer that is not a chat completion: {data[:200]!r}")
    yield answer


async def read_chunks(lines: AsyncIterator[bytes]) -> AsyncIterator[dict[str, Any]]:
    """The JSON chunks of a Chat Completions stream, until `[DONE]` or its end."""
    async for line in lines:
        if not line.startswith(DATA):
            continue  # comments, event names, keep-alives
        data = line[len(DATA) :].strip()
        if data == b"[DONE]":
            return
        try:
            chunk = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise TransportError(f"a chunk that is not JSON: {data[:200]!r}") from None
        if not isinstance(chunk, dict):
            raise TransportError(f"a chunk that is not an object: {data[:200]!r}")
        if "error" in chunk and not chunk.get("choices"):
            error = chunk["error"]
            code = error.get("code") if isinstance(error, dict) else None
            if isinstance(code, int) and 400 <= code < 500 and code != 429:
                message = error.get("message") if isinstance(error, dict) else None
                raise UpstreamRefused(str(message or "The upstream refused the request."))
            raise TransportError(f"failed mid-stream: {error}")
        yield chunk
