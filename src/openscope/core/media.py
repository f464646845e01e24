"""Images a backend must hand its engine as bytes: the seam through which a backend asks
the server to fetch one, without knowing how (the server lends it the SSRF-safe fetcher).

A backend holds an `ImageFetcher`; `fetch_image(url)` returns the image's media type and
bytes, or raises `ImageUnavailable` with a reason a client may read (never an internal
address). The limits (bytes, types, time) are the fetcher's."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Protocol

# The image types a vision engine decodes, and so the types an image fetch accepts unless
# told otherwise: what Model Studio's vision models take and the image libraries behind
# vLLM (PIL), llama-server (stb_image) and Ollama read.
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/webp", "image/gif", "image/bmp"})


@dataclass(frozen=True, slots=True)
class FetchedImage:
    mime: str  # the media type alone, lower case ("image/png")
    data: bytes

    def data_url(self) -> str:
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode('ascii')}"


class ImageUnavailable(Exception):
    """The image could not be had: refused by policy (scheme, address, type, size) or the
    fetch failed (DNS, connection, timeout, an HTTP error). `reason` is for the client."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ImageFetcher(Protocol):
    async def fetch_image(self, url: str) -> FetchedImage:
        """The image at an http(s) `url`; raises only `ImageUnavailable`."""
        ...
