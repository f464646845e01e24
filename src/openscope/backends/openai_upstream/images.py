"""Images on their way to an upstream: every image URL checked, and for an engine that
reads only inline images (its dialect's `image_urls` is "inline") each http(s) URL fetched
by the server's image fetcher and sent as a `data:` URL instead, before any byte goes up.

A data: URL passes as it is. Any other scheme (file:, ftp:, ...) is refused whatever the
engine: an engine that opens what it is given (llama-cpp-python's urlopen reads file:)
would otherwise read its own disk for a client. Refusals name the image's place in the
request as the client's API names it (`ImagePart.origin`)."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from openscope.core.errors import InvalidParameter
from openscope.core.media import FetchedImage, ImageFetcher, ImageUnavailable
from openscope.core.messages import ImagePart, Message, Part, ToolResultPart, images_of
from openscope.core.request import GenerateRequest

REMOTE_SCHEMES = ("http://", "https://")
# Fetches of one request's images at once: enough to hide the latency of a few, few enough
# that one request cannot open a crowd of connections.
CONCURRENT_FETCHES = 4
# The bytes one request's fetched images may add up to: what a body may carry inline (the
# default `max_body_bytes`). Without it, a body of a thousand URLs of large images would
# have the server hold gigabytes for one request. At most CONCURRENT_FETCHES images more
# are in memory when it is passed.
MAX_FETCHED_BYTES = 16 * 1024 * 1024


def _place(image: ImagePart) -> str:
    return image.origin or "an image of the conversation"


def _refusal(image: ImagePart, problem: str) -> InvalidParameter:
    return InvalidParameter(
        f"The image in {_place(image)} cannot be used: {problem}.",
        param=image.origin or "messages",
    )


class _TooMuch(Exception):
    """The request's fetched images passed MAX_FETCHED_BYTES."""


def is_remote(url: str) -> bool:
    return url[:8].lower().startswith(REMOTE_SCHEMES)


def check_image_urls(request: GenerateRequest) -> None:
    """Refuse an image given by any URL other than http(s) or data:."""
    for image in images_of(request.messages):
        if not (is_remote(image.url) or image.url[:5].lower() == "data:"):
            raise _refusal(image, "only http, https and data: URLs are accepted")


def _remote(request: GenerateRequest) -> dict[str, ImagePart]:
    """Each http(s) URL once, with the first image that names it."""
    found: dict[str, ImagePart] = {}
    for image in images_of(request.messages):
        if is_remote(image.url):
            found.setdefault(image.url, image)
    return found


async def fetch_images(
    request: GenerateRequest, fetcher: ImageFetcher | None, *, upstream: str
) -> dict[str, FetchedImage]:
    """Every http(s) image of the request, fetched a few at a time; the first that cannot
    be had (in the request's order) refuses the request."""
    wanted = _remote(request)
    if not wanted:
        return {}
    if fetcher is None:
        first = next(iter(wanted.values()))
        raise _refusal(
            first,
            f"the {upstream} upstream reads only inline (data:) images, and this server "
            "fetches none",
        )
    gate = asyncio.Semaphore(CONCURRENT_FETCHES)
    held = 0

    async def fetch(url: str) -> FetchedImage:
        nonlocal held
        async with gate:
            if held > MAX_FETCHED_BYTES:
                raise _TooMuch
            image = await fetcher.fetch_image(url)
            held += len(image.data)
            if held > MAX_FETCHED_BYTES:
                raise _TooMuch
            return image

    results = await asyncio.gather(*(fetch(u) for u in wanted), return_exceptions=True)
    fetched: dict[str, FetchedImage] = {}
    for (url, image), result in zip(wanted.items(), results, strict=True):
        if isinstance(result, _TooMuch):
            raise _refusal(
                image, f"the request's images add up to more than {MAX_FETCHED_BYTES} bytes"
            )
        if isinstance(result, ImageUnavailable):
            raise _refusal(image, f"it could not be fetched ({result.reason})")
        if isinstance(result, BaseException):
            raise result
        fetched[url] = result
    return fetched


def with_inline_images(
    request: GenerateRequest,
    fetched: dict[str, FetchedImage],
    *,
    readable: frozenset[str] | None,
    upstream: str,
) -> GenerateRequest:
    """The request with each fetched image as a data: URL. `readable`: the image types the
    engine decodes (None: any the fetcher accepted); an image of another type, fetched or
    sent as a data: URL, is refused here rather than failing in the engine."""
    if readable is not None:
        kinds = ", ".join(sorted(readable))
        for image in images_of(request.messages):
            got = fetched.get(image.url)
            mime = got.mime if got is not None else _data_url_type(image.url)
            if mime is not None and mime not in readable:
                raise _refusal(image, f"it is {mime}, and the {upstream} upstream reads {kinds}")
    if not fetched:
        return request
    inline = {url: image.data_url() for url, image in fetched.items()}
    return replace(request, messages=tuple(_inlined(m, inline) for m in request.messages))


def _data_url_type(url: str) -> str | None:
    """The media type a data: URL declares (lower case), or None for another URL."""
    if url[:5].lower() != "data:":
        return None
    return url[5:].split(",", 1)[0].split(";", 1)[0].strip().lower() or "text/plain"


def _inlined(message: Message, inline: dict[str, str]) -> Message:
    def image(part: ImagePart) -> ImagePart:
        url = inline.get(part.url)
        return part if url is None else replace(part, url=url)

    def swap(part: Part) -> Part:
        if isinstance(part, ImagePart):
            return image(part)
        if isinstance(part, ToolResultPart):
            content = tuple(image(p) if isinstance(p, ImagePart) else p for p in part.content)
            return replace(part, content=content)
        return part

    return replace(message, parts=tuple(swap(p) for p in message.parts))
