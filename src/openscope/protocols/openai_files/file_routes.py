"""The Files API's handlers: upload, list, retrieve, delete and download."""

from __future__ import annotations

import mimetypes

from fastapi import Query, Request, Response

from openscope.core.knowledge import FilesService, StoredFile
from openscope.protocols.http import json_response, principal_of
from openscope.protocols.openai_files.decode import order
from openscope.protocols.openai_files.encode import deleted_body, file_body, page_body
from openscope.protocols.openai_files.route_spec import RouteSpec
from openscope.protocols.openai_files.upload import read_upload

# OpenAI's `limit` on listing files: 1 to 10,000, and 10,000 when not given.
MAX_FILES_LISTED = 10_000


def file_routes(files: FilesService, max_file_bytes: int) -> list[RouteSpec]:
    async def create_file(request: Request) -> Response:
        upload = await read_upload(request, max_file_bytes)
        stored = await files.upload(
            principal_of(request),
            upload.filename,
            upload.purpose,
            upload.content,
            expires_after_seconds=upload.expires_after_seconds,
        )
        return json_response(file_body(stored))

    async def list_files(
        request: Request,
        purpose: str | None = None,
        limit: int = Query(MAX_FILES_LISTED, ge=1, le=MAX_FILES_LISTED),
        order_: str = Query("desc", alias="order"),
        after: str | None = None,
    ) -> Response:
        page = await files.list_files(
            principal_of(request), purpose=purpose, limit=limit, order=order(order_), after=after
        )
        return json_response(page_body(page, StoredFile, file_body))

    async def retrieve_file(request: Request, file_id: str) -> Response:
        return json_response(file_body(await files.get_file(principal_of(request), file_id)))

    async def delete_file(request: Request, file_id: str) -> Response:
        await files.delete_file(principal_of(request), file_id)
        return json_response(deleted_body("file", file_id))

    async def file_content(request: Request, file_id: str) -> Response:
        principal = principal_of(request)
        stored = await files.get_file(principal, file_id)
        content = await files.file_content(principal, file_id)
        media_type = mimetypes.guess_type(stored.filename)[0] or "application/octet-stream"
        # The bytes are the uploader's: never run as a page of this origin (the console's),
        # never sniffed into another type, saved rather than shown.
        return Response(
            content,
            media_type=media_type,
            headers={
                "Content-Disposition": "attachment",
                "Content-Security-Policy": "sandbox",
                "X-Content-Type-Options": "nosniff",
            },
        )

    return [
        RouteSpec("/files", create_file, "POST"),
        RouteSpec("/files", list_files, "GET"),
        RouteSpec("/files/{file_id}", retrieve_file, "GET"),
        RouteSpec("/files/{file_id}", delete_file, "DELETE"),
        RouteSpec("/files/{file_id}/content", file_content, "GET"),
    ]
