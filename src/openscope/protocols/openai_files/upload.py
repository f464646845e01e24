"""The Files API's upload: a `multipart/form-data` body with `file`, `purpose` and
`expires_after[anchor]` / `expires_after[seconds]`, as the `openai` SDK sends it, read
within a size bound (a body past it is refused while it streams, never held whole)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass

from fastapi import Request
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from openscope.core.errors import InvalidParameter, RequestTooLarge

# Room beside the file for the boundaries, the part headers and the small fields.
FORM_OVERHEAD_BYTES = 64 * 1024
# The largest field that is not the file (`purpose`, the expiry's numbers).
MAX_FIELD_BYTES = 4 * 1024
PURPOSE = "purpose"
FILE = "file"
EXPIRY_ANCHOR = "expires_after[anchor]"
EXPIRY_SECONDS = "expires_after[seconds]"
FIELDS = (FILE, PURPOSE, EXPIRY_ANCHOR, EXPIRY_SECONDS)
# OpenAI's `expires_after.seconds` range: an hour to thirty days.
MIN_EXPIRY_SECONDS = 3600
MAX_EXPIRY_SECONDS = 30 * 24 * 3600


@dataclass(frozen=True, slots=True)
class Upload:
    filename: str
    purpose: str
    content: bytes
    expires_after_seconds: int | None


def file_too_large(max_file_bytes: int) -> RequestTooLarge:
    return RequestTooLarge(
        f"The file is larger than the {max_file_bytes} bytes this server accepts.", param=FILE
    )


async def read_upload(request: Request, max_file_bytes: int) -> Upload:
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != "multipart/form-data":
        raise InvalidParameter(
            "The upload must be a multipart/form-data body with a 'file' part.", param=FILE
        )
    limit = max_file_bytes + FORM_OVERHEAD_BYTES
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise file_too_large(max_file_bytes)
    parser = MultiPartParser(
        request.headers,
        _bounded(request.stream(), limit, max_file_bytes),
        max_files=1,
        max_fields=len(FIELDS) - 1,
        max_part_size=MAX_FIELD_BYTES,
    )
    try:
        form = await parser.parse()
    except MultiPartException as error:
        raise InvalidParameter(
            f"The upload is not a multipart form this server reads: {error.message}", param=FILE
        ) from None
    try:
        return await _upload(form, max_file_bytes)
    finally:
        await form.close()


async def _bounded(
    chunks: AsyncIterator[bytes], limit: int, max_file_bytes: int
) -> AsyncGenerator[bytes, None]:
    total = 0
    async for chunk in chunks:
        total += len(chunk)
        if total > limit:
            raise file_too_large(max_file_bytes)
        yield chunk


async def _upload(form: FormData, max_file_bytes: int) -> Upload:
    for name in form:
        if name not in FIELDS:
            raise InvalidParameter(f"Unrecognized request argument supplied: {name}", param=name)
    file = form.get(FILE)
    if file is None:
        raise InvalidParameter(f"Missing required parameter: '{FILE}'.", param=FILE)
    if not isinstance(file, UploadFile):
        raise InvalidParameter(
            f"Invalid '{FILE}': expected a file part (with a filename), got a text field.",
            param=FILE,
        )
    if not file.filename:
        raise InvalidParameter(f"Invalid '{FILE}': the file part has no filename.", param=FILE)
    purpose = _text(form, PURPOSE)
    if not purpose:
        raise InvalidParameter(f"Missing required parameter: '{PURPOSE}'.", param=PURPOSE)
    content = await file.read(max_file_bytes + 1)
    if len(content) > max_file_bytes:
        raise file_too_large(max_file_bytes)
    return Upload(file.filename, purpose, content, _expiry_seconds(form))


def _text(form: FormData, name: str) -> str | None:
    value = form.get(name)
    if value is None or isinstance(value, str):
        return value
    raise InvalidParameter(f"Invalid '{name}': expected a text field, got a file.", param=name)


def _expiry_seconds(form: FormData) -> int | None:
    anchor = _text(form, EXPIRY_ANCHOR)
    seconds = _text(form, EXPIRY_SECONDS)
    if anchor is None and seconds is None:
        return None
    if anchor is None:
        raise InvalidParameter(
            f"Missing required parameter: '{EXPIRY_ANCHOR}'.", param=EXPIRY_ANCHOR
        )
    if seconds is None:
        raise InvalidParameter(
            f"Missing required parameter: '{EXPIRY_SECONDS}'.", param=EXPIRY_SECONDS
        )
    if anchor != "created_at":
        raise InvalidParameter(
            f"Invalid '{EXPIRY_ANCHOR}': expected 'created_at', got '{anchor}'.",
            param=EXPIRY_ANCHOR,
        )
    if not seconds.strip().isdigit():
        raise InvalidParameter(
            f"Invalid '{EXPIRY_SECONDS}': expected an integer, got '{seconds}'.",
            param=EXPIRY_SECONDS,
        )
    value = int(seconds)
    if not MIN_EXPIRY_SECONDS <= value <= MAX_EXPIRY_SECONDS:
        raise InvalidParameter(
            f"Invalid '{EXPIRY_SECONDS}': must be between {MIN_EXPIRY_SECONDS} and "
            f"{MAX_EXPIRY_SECONDS}, got {value}.",
            param=EXPIRY_SECONDS,
        )
    return value
