"""`read_upload` over a hand-fed ASGI body, to see how much of it is read."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import Request

from openscope.core.errors import InvalidParameter, RequestTooLarge
from openscope.protocols.openai_files.upload import FORM_OVERHEAD_BYTES, read_upload

BOUNDARY = "b0undary"
MAX = 1024


def form_parts(file_bytes: Iterator[bytes], purpose: str = "assistants") -> Iterator[bytes]:
    yield (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\n{purpose}\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    yield from file_bytes
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


class Body:
    """An ASGI `receive` over chunks that counts what the app took."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks = chunks
        self.taken = 0

    async def __call__(self) -> dict[str, Any]:
        chunk = next(self.chunks, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        self.taken += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": True}


def request(body: Body, headers: dict[str, str] | None = None) -> Request:
    raw = {"content-type": f"multipart/form-data; boundary={BOUNDARY}", **(headers or {})}
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/files",
        "headers": [(k.encode(), v.encode()) for k, v in raw.items()],
    }
    return Request(scope, body)


async def test_a_file_within_the_limit_is_read_whole() -> None:
    content = bytes(range(256)) * 4  # exactly MAX
    upload = await read_upload(request(Body(form_parts(iter([content[:500], content[500:]])))), MAX)
    assert (upload.filename, upload.purpose, upload.content) == ("a.bin", "assistants", content)
    assert upload.expires_after_seconds is None


async def test_one_byte_over_is_refused() -> None:
    with pytest.raises(RequestTooLarge) as refused:
        await read_upload(request(Body(form_parts(iter([b"x" * (MAX + 1)])))), MAX)
    assert refused.value.param == "file"


async def test_a_streamed_body_is_refused_as_it_arrives() -> None:
    endless = (b"x" * 4096 for _ in range(100_000))  # 400 MB if it were all read
    body = Body(form_parts(endless))
    with pytest.raises(RequestTooLarge):
        await read_upload(request(body), MAX)
    assert body.taken <= MAX + FORM_OVERHEAD_BYTES + 4096


async def test_a_declared_length_past_the_limit_is_refused_unread() -> None:
    body = Body(form_parts(iter([b"x"])))
    too_long = {"content-length": str(MAX + FORM_OVERHEAD_BYTES + 1)}
    with pytest.raises(RequestTooLarge):
        await read_upload(request(body, too_long), MAX)
    assert body.taken == 0


async def test_two_files_are_refused() -> None:
    second = (
        f'\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="b"\r\n\r\ny'
    ).encode()
    with pytest.raises(InvalidParameter) as refused:
        await read_upload(request(Body(form_parts(iter([b"x", second])))), MAX)
    assert refused.value.param == "file"
