"""S3BlobStore against a real S3-compatible server (moto's, on 127.0.0.1): the BlobStore
contract (put, get, delete; a missing key), objects named `<prefix><key>`, a blob of
several MB, and the start-up check's clear errors (a missing bucket, refused credentials,
nothing listening)."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import AsyncIterator, Iterator

import pytest

from openscope.store.knowledge import (
    BlobStoreUnavailable,
    S3BlobStore,
    S3Credentials,
    S3Location,
)
from tests.store.knowledge.moto_s3 import (
    ACCESS_KEY,
    SECRET_KEY,
    admin_client,
    new_bucket,
    object_keys,
    require_auth,
    running_moto,
)

CREDENTIALS = S3Credentials(ACCESS_KEY, SECRET_KEY, source="the test's keys")


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with running_moto() as url:
        yield url


@pytest.fixture
def bucket(endpoint: str) -> str:
    return new_bucket(endpoint)


@pytest.fixture
async def blobs(endpoint: str, bucket: str) -> AsyncIterator[S3BlobStore]:
    store = S3BlobStore(
        S3Location(bucket=bucket, prefix="uploads/", endpoint_url=endpoint), CREDENTIALS
    )
    await store.open()
    yield store
    await store.aclose()


async def test_put_get_delete(blobs: S3BlobStore, endpoint: str, bucket: str) -> None:
    await blobs.put("file-abc", b"Kestrel boots")
    await blobs.put("file-def", b"")
    assert await blobs.get("file-abc") == b"Kestrel boots"
    assert await blobs.get("file-def") == b""
    # Objects are `<prefix><key>`, and the start-up check left nothing behind.
    assert object_keys(endpoint, bucket) == ["uploads/file-abc", "uploads/file-def"]

    await blobs.put("file-abc", b"replaced")
    assert await blobs.get("file-abc") == b"replaced"

    await blobs.delete("file-abc")
    with pytest.raises(KeyError):
        await blobs.get("file-abc")
    await blobs.delete("file-abc")  # already gone: not an error
    await blobs.delete("file-never")
    assert object_keys(endpoint, bucket) == ["uploads/file-def"]


async def test_missing_key_raises_key_error(blobs: S3BlobStore) -> None:
    with pytest.raises(KeyError) as raised:
        await blobs.get("file-missing")
    assert raised.value.args == ("file-missing",)


async def test_keys_are_checked(blobs: S3BlobStore) -> None:
    for bad in ("../escape", "a/b", "", "x" * 129):
        with pytest.raises(ValueError, match="not a blob key"):
            await blobs.put(bad, b"x")
        with pytest.raises(ValueError, match="not a blob key"):
            await blobs.get(bad)


async def test_a_blob_of_several_mb_round_trips(blobs: S3BlobStore) -> None:
    content = os.urandom(6 * 1024 * 1024 + 17)
    await blobs.put("file-large", content)
    assert await blobs.get("file-large") == content


async def test_open_twice_and_use_after_close(endpoint: str, bucket: str) -> None:
    store = S3BlobStore(S3Location(bucket=bucket, endpoint_url=endpoint), CREDENTIALS)
    with pytest.raises(RuntimeError, match="not open"):
        await store.put("file-a", b"x")
    await store.open()
    await store.open()
    await store.put("file-a", b"x")
    assert object_keys(endpoint, bucket) == ["file-a"]  # S3Location's prefix is "" by default
    await store.aclose()
    await store.aclose()
    with pytest.raises(RuntimeError, match="not open"):
        await store.get("file-a")


async def test_path_addressing(endpoint: str, bucket: str) -> None:
    location = S3Location(
        bucket=bucket, prefix="p/", endpoint_url=endpoint, addressing_style="path"
    )
    store = S3BlobStore(location, CREDENTIALS)
    await store.open()
    try:
        await store.put("file-a", b"by path")
        assert await store.get("file-a") == b"by path"
    finally:
        await store.aclose()
    assert object_keys(endpoint, bucket) == ["p/file-a"]


async def test_a_missing_bucket_stops_start_naming_it(endpoint: str) -> None:
    store = S3BlobStore(S3Location(bucket="no-such-bucket", endpoint_url=endpoint), CREDENTIALS)
    with pytest.raises(BlobStoreUnavailable) as raised:
        await store.open()
    message = str(raised.value)
    assert "'no-such-bucket'" in message
    assert endpoint in message
    assert "does not exist" in message
    # The failed open kept no client: the store is not usable, and nothing leaks.
    with pytest.raises(RuntimeError, match="not open"):
        await store.get("file-a")


async def test_nothing_listening_stops_start() -> None:
    with socket.socket() as probe:  # a port on loopback that nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    location = S3Location(
        bucket="some-bucket",
        endpoint_url=f"http://127.0.0.1:{port}",
        connect_timeout=2,
        max_attempts=1,
    )
    store = S3BlobStore(location, CREDENTIALS)
    with pytest.raises(BlobStoreUnavailable, match="cannot reach the bucket 'some-bucket'"):
        await store.open()


async def test_refused_credentials_stop_start(endpoint: str, bucket: str) -> None:
    iam = admin_client(endpoint, "iam")
    iam.create_user(UserName="blob-writer")
    iam.put_user_policy(
        UserName="blob-writer",
        PolicyName="objects",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
            }
        ),
    )
    iam.create_user(UserName="reader")
    iam.put_user_policy(
        UserName="reader",
        PolicyName="read",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
            }
        ),
    )
    writer = iam.create_access_key(UserName="blob-writer")["AccessKey"]
    reader = iam.create_access_key(UserName="reader")["AccessKey"]
    location = S3Location(bucket=bucket, endpoint_url=endpoint, max_attempts=1)
    require_auth(endpoint, True)
    try:
        good = S3BlobStore(
            location, S3Credentials(writer["AccessKeyId"], writer["SecretAccessKey"])
        )
        await good.open()
        try:
            await good.put("file-a", b"signed")
            assert await good.get("file-a") == b"signed"
        finally:
            await good.aclose()

        refusals = {
            "SignatureDoesNotMatch": S3Credentials(
                writer["AccessKeyId"], "not-the-secret", source="$BAD_SECRET"
            ),
            "InvalidAccessKeyId": S3Credentials(
                "AKIAUNKNOWNKEY000000", "whatever", source="$BAD_SECRET"
            ),
            # A key that may read but not write is found at start, not at the first upload.
            "AccessDenied": S3Credentials(
                reader["AccessKeyId"], reader["SecretAccessKey"], source="$BAD_SECRET"
            ),
        }
        for code, credentials in refusals.items():
            store = S3BlobStore(location, credentials)
            with pytest.raises(BlobStoreUnavailable) as raised:
                await store.open()
            message = str(raised.value)
            assert f"bucket {bucket!r}" in message
            assert f"refused the credentials from $BAD_SECRET ({code})" in message
            assert "not-the-secret" not in message
    finally:
        require_auth(endpoint, False)


def test_secrets_stay_out_of_the_repr() -> None:
    credentials = S3Credentials("AKIAEXAMPLE", "very-secret", "token-secret", source="$X")
    assert "very-secret" not in repr(credentials)
    assert "token-secret" not in repr(credentials)
    assert "AKIAEXAMPLE" not in repr(credentials)
