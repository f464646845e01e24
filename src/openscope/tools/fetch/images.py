"""The server's image fetcher: `core.media.ImageFetcher` over the SSRF-safe `Fetcher`, for a
backend whose engine takes images only as bytes (an upstream that reads no image URLs).

Every rule of the page fetcher holds (http and https only; loopback, private, link-local and
metadata addresses refused unless allowed; each redirect checked; the connection pinned to
the checked address); on top of it, the answer must declare an image type of the allow-list
and be no longer than `max_bytes`: a longer one is refused, never cut (a cut image is a
broken one)."""

from __future__ import annotations

from openscope.core.media import IMAGE_TYPES, FetchedImage, ImageUnavailable
from openscope.tools.fetch.errors import FetchError
from openscope.tools.fetch.fetcher import Fetcher
from openscope.tools.fetch.policy import FetchPolicy, IPNetwork
from openscope.tools.fetch.resolver import HostResolver

DEFAULT_MAX_IMAGE_BYTES = 10 * 1024 * 1024  # Model Studio's limit for one image file
DEFAULT_IMAGE_TIMEOUT = 15.0


def image_policy(
    *,
    max_bytes: int = DEFAULT_MAX_IMAGE_BYTES,
    timeout: float = DEFAULT_IMAGE_TIMEOUT,
    content_types: frozenset[str] = IMAGE_TYPES,
    allow: tuple[IPNetwork, ...] = (),
) -> FetchPolicy:
    return FetchPolicy(
        total_timeout=timeout,
        connect_timeout=min(5.0, timeout),
        max_bytes=max_bytes,
        content_types=content_types,
        allow=allow,
        user_agent="openscope-image-fetch/0.1",
    )


class SafeImageFetcher:
    """Fetches images under one policy; safe to share across tasks."""

    def __init__(self, policy: FetchPolicy | None = None, resolver: HostResolver | None = None):
        self._fetcher = Fetcher(policy or image_policy(), resolver)

    @property
    def policy(self) -> FetchPolicy:
        return self._fetcher.policy

    async def fetch_image(self, url: str) -> FetchedImage:
        try:
            page = await self._fetcher.fetch(url)
        except FetchError as error:
            raise ImageUnavailable(error.reason) from None
        if page.truncated:
            raise ImageUnavailable(f"the image is larger than {self.policy.max_bytes} bytes")
        return FetchedImage(page.content_type, page.body)
