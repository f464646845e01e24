"""The Vector Stores API's handlers: stores, their files, file batches and search.

A file or batch still being ingested is answered with `openai-poll-after-ms`, the wait
the SDK's poll helpers (`create_and_poll`, `upload_and_poll`) sleep before asking again."""

from __future__ import annotations

from fastapi import Query, Request, Response

from openscope.core.knowledge import (
    FileBatch,
    FileStatus,
    VectorStore,
    VectorStoreFile,
    VectorStoresService,
)
from openscope.protocols.http import json_response, principal_of, read_json
from openscope.protocols.openai_files import decode
from openscope.protocols.openai_files.encode import (
    batch_body,
    content_body,
    deleted_body,
    page_body,
    search_body,
    store_body,
    store_file_body,
)
from openscope.protocols.openai_files.route_spec import RouteSpec
from openscope.protocols.openai_files.schemas import (
    BatchCreate,
    SearchRequest,
    StoreCreate,
    StoreFileCreate,
    StoreFileUpdate,
    StoreUpdate,
)

POLL_AFTER_HEADER = "openai-poll-after-ms"
# OpenAI's `limit` on listing stores and their files: 1 to 100, 20 when not given.
DEFAULT_LISTED = 20
MAX_LISTED = 100


def vector_store_routes(
    stores: VectorStoresService, max_body_bytes: int, poll_after_ms: int
) -> list[RouteSpec]:
    def poll_headers(status: FileStatus) -> dict[str, str] | None:
        if status is FileStatus.IN_PROGRESS:
            return {POLL_AFTER_HEADER: str(poll_after_ms)}
        return None

    def file_answer(file: VectorStoreFile) -> Response:
        return json_response(store_file_body(file), headers=poll_headers(file.status))

    def batch_answer(batch: FileBatch) -> Response:
        # The SDK polls a batch while any of its files is in progress (a cancelled batch
        # may still be stopping some).
        busy = batch.file_counts.in_progress > 0
        status = FileStatus.IN_PROGRESS if busy else batch.status
        return json_response(batch_body(batch), headers=poll_headers(status))

    async def body(request: Request, *, empty: object = None) -> object:
        return await read_json(request, max_body_bytes, empty=empty)

    # -- stores -------------------------------------------------------------------------

    async def create_store(request: Request) -> Response:
        wire = decode.parse(StoreCreate, await body(request, empty={}))
        store = await stores.create_store(
            principal_of(request),
            name=wire.name,
            description=wire.description,
            metadata=decode.metadata(wire.metadata),
            expires_after_days=decode.expiry_days(wire.expires_after),
            file_ids=decode.file_ids(wire.file_ids or []),
            chunking=decode.chunking(wire.chunking_strategy),
        )
        return json_response(store_body(store))

    async def retrieve_store(request: Request, store_id: str) -> Response:
        return json_response(store_body(await stores.get_store(principal_of(request), store_id)))

    async def update_store(request: Request, store_id: str) -> Response:
        wire = decode.parse(StoreUpdate, await body(request))
        sent = wire.model_fields_set
        # `metadata: null` clears it; `name: null` leaves the name as it is (the core has
        # no way to unname a store, and OpenAI's nullable means "not changed" there).
        store = await stores.update_store(
            principal_of(request),
            store_id,
            name=wire.name,
            metadata=decode.metadata(wire.metadata) if "metadata" in sent else None,
            expires_after_days=decode.expiry_days(wire.expires_after),
            clear_expiry="expires_after" in sent and wire.expires_after is None,
        )
        return json_response(store_body(store))

    async def delete_store(request: Request, store_id: str) -> Response:
        await stores.delete_store(principal_of(request), store_id)
        return json_response(deleted_body("vector_store.deleted", store_id))

    async def list_stores(
        request: Request,
        limit: int = Query(DEFAULT_LISTED, ge=1, le=MAX_LISTED),
        order: str = "desc",
        after: str | None = None,
        before: str | None = None,
    ) -> Response:
        page = await stores.list_stores(
            principal_of(request),
            limit=limit,
            order=decode.order(order),
            after=after,
            before=before,
        )
        return json_response(page_body(page, VectorStore, store_body))

    # -- files of a store ---------------------------------------------------------------

    async def add_file(request: Request, store_id: str) -> Response:
        wire = decode.parse(StoreFileCreate, await body(request))
        file = await stores.add_file(
            principal_of(request),
            store_id,
            wire.file_id,
            attributes=decode.attributes(wire.attributes),
            chunking=decode.chunking(wire.chunking_strategy),
        )
        return file_answer(file)

    async def retrieve_file(request: Request, store_id: str, file_id: str) -> Response:
        return file_answer(await stores.get_store_file(principal_of(request), store_id, file_id))

    async def update_file(request: Request, store_id: str, file_id: str) -> Response:
        wire = decode.parse(StoreFileUpdate, await body(request))
        file = await stores.update_store_file(
            principal_of(request), store_id, file_id, decode.attributes(wire.attributes)
        )
        return file_answer(file)

    async def remove_file(request: Request, store_id: str, file_id: str) -> Response:
        await stores.remove_file(principal_of(request), store_id, file_id)
        return json_response(deleted_body("vector_store.file.deleted", file_id))

    async def list_files(
        request: Request,
        store_id: str,
        limit: int = Query(DEFAULT_LISTED, ge=1, le=MAX_LISTED),
        order: str = "desc",
        after: str | None = None,
        before: str | None = None,
        status: str | None = Query(None, alias="filter"),
    ) -> Response:
        page = await stores.list_store_files(
            principal_of(request),
            store_id,
            status=decode.status_filter(status),
            batch_id=None,
            limit=limit,
            order=decode.order(order),
            after=after,
            before=before,
        )
        return json_response(page_body(page, VectorStoreFile, store_file_body))

    async def file_content(request: Request, store_id: str, file_id: str) -> Response:
        chunks = await stores.store_file_chunks(principal_of(request), store_id, file_id)
        return json_response(content_body(chunks))

    # -- batches ------------------------------------------------------------------------

    async def create_batch(request: Request, store_id: str) -> Response:
        files, chunking = decode.batch_files(decode.parse(BatchCreate, await body(request)))
        batch = await stores.create_batch(principal_of(request), store_id, files, chunking)
        return batch_answer(batch)

    async def retrieve_batch(request: Request, store_id: str, batch_id: str) -> Response:
        return batch_answer(await stores.get_batch(principal_of(request), store_id, batch_id))

    async def cancel_batch(request: Request, store_id: str, batch_id: str) -> Response:
        return batch_answer(await stores.cancel_batch(principal_of(request), store_id, batch_id))

    async def list_batch_files(
        request: Request,
        store_id: str,
        batch_id: str,
        limit: int = Query(DEFAULT_LISTED, ge=1, le=MAX_LISTED),
        order: str = "desc",
        after: str | None = None,
        before: str | None = None,
        status: str | None = Query(None, alias="filter"),
    ) -> Response:
        principal = principal_of(request)
        await stores.get_batch(principal, store_id, batch_id)  # a missing batch is a 404
        page = await stores.list_store_files(
            principal,
            store_id,
            status=decode.status_filter(status),
            batch_id=batch_id,
            limit=limit,
            order=decode.order(order),
            after=after,
            before=before,
        )
        return json_response(page_body(page, VectorStoreFile, store_file_body))

    # -- search -------------------------------------------------------------------------

    async def search(request: Request, store_id: str) -> Response:
        query = decode.search_query(decode.parse(SearchRequest, await body(request)))
        hits = await stores.search(principal_of(request), store_id, query)
        return json_response(search_body(query.queries, hits))

    store = "/vector_stores/{store_id}"
    file = f"{store}/files/{{file_id}}"
    batch = f"{store}/file_batches/{{batch_id}}"
    return [
        RouteSpec("/vector_stores", create_store, "POST"),
        RouteSpec("/vector_stores", list_stores, "GET"),
        RouteSpec(store, retrieve_store, "GET"),
        RouteSpec(store, update_store, "POST"),
        RouteSpec(store, delete_store, "DELETE"),
        RouteSpec(f"{store}/files", add_file, "POST"),
        RouteSpec(f"{store}/files", list_files, "GET"),
        RouteSpec(file, retrieve_file, "GET"),
        RouteSpec(file, update_file, "POST"),
        RouteSpec(file, remove_file, "DELETE"),
        RouteSpec(f"{file}/content", file_content, "GET"),
        RouteSpec(f"{store}/file_batches", create_batch, "POST"),
        RouteSpec(batch, retrieve_batch, "GET"),
        RouteSpec(f"{batch}/cancel", cancel_batch, "POST"),
        RouteSpec(f"{batch}/files", list_batch_files, "GET"),
        RouteSpec(f"{store}/search", search, "POST"),
    ]
