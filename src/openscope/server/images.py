"""The image fetcher the server lends its backends (`BackendServices.images`), built from
the `[image_fetch]` settings over the SSRF-safe fetcher."""

from __future__ import annotations

from openscope.core.media import ImageFetcher
from openscope.settings import ImageFetchSettings
from openscope.tools.fetch import networks
from openscope.tools.fetch.images import SafeImageFetcher, image_policy


def build_image_fetcher(config: ImageFetchSettings) -> ImageFetcher:
    policy = image_policy(
        max_bytes=config.max_image_bytes,
        timeout=config.timeout_seconds,
        content_types=frozenset(config.content_types),
        allow=networks(*config.allow_networks),
    )
    return SafeImageFetcher(policy)
