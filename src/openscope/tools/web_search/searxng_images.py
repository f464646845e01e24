"""SearXNG's image results (`categories=images`) as `ImageResult`s.

An image result in SearXNG's JSON carries `img_src` (the image), `thumbnail_src` (a smaller
copy; some engines write `thumbnail`), `title` and `url` (the page the image is on)
[docs.searxng.org, result types and the `images.html` template]. Results without an http(s)
image are dropped (a general result an engine put in the category); some engines give
protocol-relative sources (`//host/x.jpg`), read as https."""

from __future__ import annotations

import re
from typing import Any

from openscope.tools.web_search.images import ImageResult, numbered_images
from openscope.tools.web_search.sites import host_of

_SPACES = re.compile(r"\s+")


def images_of(raw: list[Any], limit: int) -> list[ImageResult]:
    """The first `limit` distinct images among SearXNG's raw results, numbered 1..n."""
    found: list[ImageResult] = []
    seen: set[str] = set()
    for item in raw:
        image = _to_image(item)
        if image is None or image.url in seen:
            continue
        seen.add(image.url)
        found.append(image)
        if len(found) == limit:
            break
    return numbered_images(found)


def _to_image(item: Any) -> ImageResult | None:
    if not isinstance(item, dict):
        return None
    url = _http_url(item.get("img_src"))
    if not url:
        return None
    page = _http_url(item.get("url"))
    thumbnail = _http_url(item.get("thumbnail_src")) or _http_url(item.get("thumbnail"))
    title = item.get("title")
    shown = _SPACES.sub(" ", title).strip() if isinstance(title, str) else ""
    return ImageResult(
        index=0,  # numbered once the list is final
        title=shown or url,
        url=url,
        page_url=page,
        thumbnail_url=thumbnail,
    )


def _http_url(value: Any) -> str:
    """`value` as an http(s) URL with a host, or ""."""
    if not isinstance(value, str):
        return ""
    url = value.strip()
    if url.startswith("//"):
        url = "https:" + url
    if not url.lower().startswith(("http://", "https://")) or not host_of(url):
        return ""
    return url
