"""The `[image_fetch]` table: how the server fetches an image URL for an upstream engine
that takes images only as bytes (llama-server, Ollama; any route with `fetch_images`).
Fetched through the SSRF-safe fetcher: loopback, private, link-local (cloud metadata),
CGNAT, multicast and reserved addresses are refused unless listed in `allow_networks`."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from openscope.core.media import IMAGE_TYPES
from openscope.settings.networks import NetworkList
from openscope.tools.fetch.images import DEFAULT_IMAGE_TIMEOUT, DEFAULT_MAX_IMAGE_BYTES

# What a vision engine decodes (core/media.py IMAGE_TYPES); narrower lists are allowed.
KNOWN_IMAGE_TYPES = tuple(sorted(IMAGE_TYPES))


class ImageFetchSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Addresses or CIDRs reachable despite the SSRF guard, e.g. ["10.1.2.0/24"] for an
    # intranet image store. Every other private address stays refused.
    allow_networks: NetworkList = Field(default_factory=list)
    # Seconds one image may take (DNS, every redirect, the body).
    timeout_seconds: float = Field(default=DEFAULT_IMAGE_TIMEOUT, gt=0, le=120, allow_inf_nan=False)
    # Bytes of one image at most: a larger one is refused (Model Studio's limit is 10 MB).
    max_image_bytes: int = Field(default=DEFAULT_MAX_IMAGE_BYTES, ge=1024, le=64 * 1024 * 1024)
    # The image types accepted (the answer's Content-Type); another type is refused.
    content_types: list[str] = Field(default_factory=lambda: list(KNOWN_IMAGE_TYPES))

    @field_validator("content_types")
    @classmethod
    def _image_types(cls, types: list[str]) -> list[str]:
        unknown = [t for t in types if t not in KNOWN_IMAGE_TYPES]
        if unknown or not types:
            raise ValueError(f"must be some of {', '.join(KNOWN_IMAGE_TYPES)}")
        return types
