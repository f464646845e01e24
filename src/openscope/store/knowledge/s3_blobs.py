"""Uploaded files' bytes in a bucket of an S3-compatible object store (AWS S3, MinIO, Ceph
RGW, ...), shared by every replica as the database is. One aiobotocore client (its aiohttp
connection pool) serves the store from `open` to `aclose`; a blob is the object
`<prefix><key>`, written by one PUT, which S3 stores whole or not at all."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any, Literal

import aiohttp
from aiobotocore.config import AioConfig  # type: ignore[import-untyped]
from aiobotocore.session import get_session  # type: ignore[import-untyped]
from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]

from openscope.store.knowledge.blobs import KEY_PATTERN, BlobStoreUnavailable

AddressingStyle = Literal["auto", "virtual", "path"]
# What a bucket answers for an object that is not there (HEAD and GET alike).
MISSING = frozenset({"NoSuchKey", "404", "NotFound"})
# The start-up check's object, under the prefix (a name no file id takes: ids have no dot).
PROBE_NAME = ".openscope-check-"
# Bodies past this are hashed in a worker thread (hashlib lets go of the GIL): 64 MiB would
# hold the event loop for ~0.1 s.
HASH_IN_THREAD_BYTES = 1024 * 1024


@dataclass(frozen=True)
class S3Credentials:
    """An access key pair (and a session token for temporary ones). `source` says where
    they came from, for error messages (e.g. the environment variables' names); the
    secret parts are kept out of the repr."""

    access_key: str = field(repr=False)
    secret_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)
    source: str = "the configured credentials"


@dataclass(frozen=True)
class S3Location:
    """Where the blobs go and how to reach it. `endpoint_url`: the store's address (None:
    AWS's own for `region`); `addressing_style`: "path" puts the bucket in the path (most
    self-hosted stores behind a plain host name need it), "virtual" in the host name,
    "auto" lets the client choose. Timeouts are seconds; `max_attempts` counts the first
    try of a request and its retries."""

    bucket: str
    prefix: str = ""
    endpoint_url: str | None = None
    region: str = "us-east-1"
    addressing_style: AddressingStyle = "auto"
    connect_timeout: float = 5.0
    read_timeout: float = 60.0
    max_attempts: int = 3
    max_connections: int = 16

    def where(self) -> str:
        return f"bucket {self.bucket!r} at {self.endpoint_url or f'AWS S3 ({self.region})'}"


class S3BlobStore:
    """The BlobStore over an S3-compatible bucket. `open` makes the client and checks the
    bucket takes a write, a read and a delete (so a missing bucket or refused credentials
    stop the server at start, naming the bucket); `aclose` closes the client's
    connections."""

    def __init__(self, location: S3Location, credentials: S3Credentials) -> None:
        self._location = location
        self._credentials = credentials
        self._stack: AsyncExitStack | None = None
        self._client: Any = None
        self._opening = asyncio.Lock()

    @property
    def location(self) -> S3Location:
        return self._location

    async def open(self) -> None:
        async with self._opening:
            if self._client is not None:
                return
            stack = AsyncExitStack()
            try:
                client = await stack.enter_async_context(self._create_client())
                await self._check(client)
            except BaseException:
                await stack.aclose()
                raise
            self._stack, self._client = stack, client

    async def aclose(self) -> None:
        stack, self._stack, self._client = self._stack, None, None
        if stack is not None:
            await stack.aclose()

    async def put(self, key: str, content: bytes) -> None:
        # Content-MD5 makes the store refuse a body damaged on the way; the newer CRC
        # checksums are not asked for, as several S3-compatible stores refuse them.
        if len(content) > HASH_IN_THREAD_BYTES:
            digest = await asyncio.to_thread(_md5, content)
        else:
            digest = _md5(content)
        await self._opened().put_object(
            Bucket=self._location.bucket,
            Key=self._key(key),
            Body=content,
            ContentMD5=base64.b64encode(digest).decode(),
            ContentType="application/octet-stream",
        )

    async def get(self, key: str) -> bytes:
        try:
            answer = await self._opened().get_object(
                Bucket=self._location.bucket, Key=self._key(key)
            )
        except ClientError as error:
            if _error_code(error) in MISSING:
                raise KeyError(key) from None
            raise
        async with answer["Body"] as body:
            content: bytes = await body.read()
        return content

    async def delete(self, key: str) -> None:
        # S3 answers 204 whether or not the object was there.
        await self._opened().delete_object(Bucket=self._location.bucket, Key=self._key(key))

    def _key(self, key: str) -> str:
        if not KEY_PATTERN.match(key):
            raise ValueError(f"not a blob key: {key!r}")
        return self._location.prefix + key

    def _opened(self) -> Any:
        if self._client is None:
            raise RuntimeError("the S3 blob store is not open")
        return self._client

    def _create_client(self) -> Any:
        location, credentials = self._location, self._credentials
        config = AioConfig(
            connect_timeout=location.connect_timeout,
            read_timeout=location.read_timeout,
            retries={"max_attempts": location.max_attempts, "mode": "standard"},
            max_pool_connections=location.max_connections,
            s3={"addressing_style": location.addressing_style},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            # The settings alone say where the store is (no AWS_ENDPOINT_URL_S3 from the
            # environment or ~/.aws/config).
            ignore_configured_endpoint_urls=True,
        )
        return get_session().create_client(
            "s3",
            region_name=location.region,
            endpoint_url=location.endpoint_url,
            aws_access_key_id=credentials.access_key,
            aws_secret_access_key=credentials.secret_key,
            aws_session_token=credentials.session_token,
            config=config,
        )

    async def _check(self, client: Any) -> None:
        """Write, read back and delete a small object under the prefix: the store needs all
        three, and a key allowed only some of them (or only a prefix, without the right to
        list the bucket) is found now rather than at the first upload."""
        location = self._location
        probe = f"{location.prefix}{PROBE_NAME}{secrets.token_hex(8)}"
        content = secrets.token_bytes(16)
        try:
            await client.put_object(Bucket=location.bucket, Key=probe, Body=content)
            answer = await client.get_object(Bucket=location.bucket, Key=probe)
            async with answer["Body"] as body:
                read = await body.read()
            await client.delete_object(Bucket=location.bucket, Key=probe)
        except ClientError as error:
            raise BlobStoreUnavailable(self._refusal(error)) from None
        except (BotoCoreError, aiohttp.ClientError, TimeoutError) as error:
            raise BlobStoreUnavailable(
                f"knowledge.s3: cannot reach the {location.where()}: {error}"
            ) from None
        if read != content:
            raise BlobStoreUnavailable(
                f"knowledge.s3: the {location.where()} gave back other bytes than were "
                "written to it"
            )

    def _refusal(self, error: Any) -> str:
        where = self._location.where()
        code = _error_code(error)
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in ("NoSuchBucket", "404", "NotFound"):
            return f"knowledge.s3: the {where} does not exist (make it, or name another)"
        if status in (401, 403):
            return (
                f"knowledge.s3: the {where} refused the credentials from "
                f"{self._credentials.source} ({code}): check the key and that it may put, "
                "get and delete objects under the prefix"
            )
        return f"knowledge.s3: the {where} answered {status} {code} to a test write"


def _md5(content: bytes) -> bytes:
    return hashlib.md5(content, usedforsecurity=False).digest()


def _error_code(error: Any) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
