"""`[knowledge.s3]`: the settings that choose an S3-compatible bucket for uploads, the
credentials read from the environment variables they name (never from the file), and the
knowledge service the server builds from them, used through the Files flow (upload, read
back, delete) against a real S3-compatible server (moto's, on 127.0.0.1)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from openscope.core.errors import NotFound
from openscope.core.principal import Principal
from openscope.server.embeddings import EmbeddingModels
from openscope.server.knowledge import build_knowledge_service
from openscope.settings import Settings, SettingsError, load_settings
from openscope.store import Store, open_store, sqlite_url
from openscope.store.knowledge import BlobStoreUnavailable
from tests.engine.knowledge.fake_embedder import FakeEmbedder
from tests.store.knowledge.moto_s3 import (
    ACCESS_KEY,
    SECRET_KEY,
    admin_client,
    new_bucket,
    object_keys,
    require_auth,
    running_moto,
)

ALICE = Principal(key_id="k-alice", workspace="w-alice")
ENV = {"BLOBS_KEY_ID": ACCESS_KEY, "BLOBS_SECRET": SECRET_KEY}


class ServedFakeEmbedder(FakeEmbedder):
    async def close(self) -> None:
        return None


def embeddings() -> EmbeddingModels:
    return EmbeddingModels({"fake-bow": ServedFakeEmbedder()}, max_rows=10, max_tokens_per_row=8192)


def settings_from(tmp_path: Path, knowledge: str) -> Settings:
    config = tmp_path / "openscope.toml"
    config.write_text(f'data_dir = "{tmp_path / "data"}"\n{knowledge}')
    return load_settings(config)


def s3_table(endpoint: str, bucket: str, extra: str = "") -> str:
    return f"""
[knowledge]
embedding_model = "fake-bow"

[knowledge.s3]
bucket = "{bucket}"
endpoint_url = "{endpoint}"
prefix = "openscope/files/"
addressing_style = "path"
access_key_env = "BLOBS_KEY_ID"
secret_key_env = "BLOBS_SECRET"
{extra}
"""


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with running_moto() as url:
        yield url


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await open_store(sqlite_url(tmp_path))
    yield opened
    await opened.close()


def test_the_s3_table_loads(tmp_path: Path) -> None:
    settings = settings_from(tmp_path, s3_table("http://127.0.0.1:9000", "uploads"))
    s3 = settings.knowledge.s3
    assert s3 is not None
    assert (s3.bucket, s3.prefix, s3.endpoint_url) == (
        "uploads",
        "openscope/files/",
        "http://127.0.0.1:9000",
    )
    assert (s3.access_key_env, s3.secret_key_env, s3.session_token_env) == (
        "BLOBS_KEY_ID",
        "BLOBS_SECRET",
        None,
    )
    assert s3.region == "us-east-1"
    assert s3.read_timeout_seconds > 0 and s3.connect_timeout_seconds > 0
    assert load_settings().knowledge.s3 is None  # a local directory unless asked


@pytest.mark.parametrize(
    ("line", "named", "secret"),
    [
        # No secret in the file: the keys are only read from the environment.
        ('access_key = "AKIAEXAMPLE"', "knowledge.s3.access_key", "AKIAEXAMPLE"),
        ('secret_key = "hunter2-secret"', "knowledge.s3.secret_key", "hunter2-secret"),
        # A secret pasted where a variable's name belongs.
        ('secret_key_env = "wJalr/XUtnFEMI+K7MD"', "knowledge.s3.secret_key_env", "wJalr"),
        ('addressing_style = "sideways"', "knowledge.s3.addressing_style", None),
        ("read_timeout_seconds = 0", "knowledge.s3.read_timeout_seconds", None),
        ('prefix = "a b/"', "knowledge.s3.prefix", None),
    ],
)
def test_bad_s3_settings_are_refused_without_echoing(
    tmp_path: Path, line: str, named: str, secret: str | None
) -> None:
    table = f'[knowledge.s3]\nbucket = "uploads"\n{line}\n'
    with pytest.raises(SettingsError) as raised:
        settings_from(tmp_path, table)
    message = str(raised.value)
    assert named in message
    if secret is not None:
        assert secret not in message


@pytest.mark.parametrize(
    ("table", "named"),
    [
        (s3_table("http://user:pass@127.0.0.1:9000", "uploads"), "endpoint_url"),
        (s3_table("ftp://127.0.0.1:9000", "uploads"), "endpoint_url"),
        (s3_table("http://127.0.0.1:9000", "Not_A_Bucket"), "bucket"),
        ('[knowledge]\nblob_dir = "/srv/blobs"\n[knowledge.s3]\nbucket = "uploads"\n', "keep one"),
    ],
)
def test_unusable_s3_tables(tmp_path: Path, table: str, named: str) -> None:
    with pytest.raises(SettingsError, match=named) as raised:
        settings_from(tmp_path, table)
    assert "pass@" not in str(raised.value)


async def test_a_credential_variable_not_set_stops_start(tmp_path: Path, store: Store) -> None:
    settings = settings_from(tmp_path, s3_table("http://127.0.0.1:9000", "uploads"))
    for env, missing in (
        ({"BLOBS_SECRET": SECRET_KEY}, "BLOBS_KEY_ID"),
        ({"BLOBS_KEY_ID": ACCESS_KEY, "BLOBS_SECRET": ""}, "BLOBS_SECRET"),
    ):
        with pytest.raises(SettingsError) as raised:
            build_knowledge_service(settings, store, embeddings(), env=env)
        message = str(raised.value)
        assert f"environment variable {missing}, which is not set" in message
        assert "'uploads'" in message
        assert SECRET_KEY not in message


async def test_files_live_in_the_bucket(tmp_path: Path, store: Store, endpoint: str) -> None:
    bucket = new_bucket(endpoint)
    settings = settings_from(tmp_path, s3_table(endpoint, bucket))
    service = build_knowledge_service(settings, store, embeddings(), env=ENV)
    assert service is not None
    await service.start()
    try:
        content = b"# Kestrel\n\nKestrel boots from the second partition.\n" * 50_000
        uploaded = await service.upload(ALICE, "kestrel.md", "assistants", content)
        assert object_keys(endpoint, bucket) == [f"openscope/files/{uploaded.id}"]
        assert not (tmp_path / "data" / "files").exists()  # nothing on the local disk
        assert await service.file_content(ALICE, uploaded.id) == content

        await service.delete_file(ALICE, uploaded.id)
        assert object_keys(endpoint, bucket) == []
        with pytest.raises(NotFound):
            await service.file_content(ALICE, uploaded.id)
    finally:
        await service.aclose()


async def test_the_keys_come_from_the_named_variables(
    tmp_path: Path, store: Store, endpoint: str
) -> None:
    """With moto checking signatures, the service signs with the keys in the variables
    the settings name, and a wrong one stops start naming the bucket and the variables."""
    bucket = new_bucket(endpoint)
    iam = admin_client(endpoint, "iam")
    iam.create_user(UserName="openscope")
    iam.put_user_policy(
        UserName="openscope",
        PolicyName="blobs",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
            }
        ),
    )
    key = iam.create_access_key(UserName="openscope")["AccessKey"]
    settings = settings_from(tmp_path, s3_table(endpoint, bucket, "max_attempts = 1"))
    env = {"BLOBS_KEY_ID": key["AccessKeyId"], "BLOBS_SECRET": key["SecretAccessKey"]}
    wrong = {**env, "BLOBS_SECRET": "not-the-secret"}
    require_auth(endpoint, True)
    try:
        service = build_knowledge_service(settings, store, embeddings(), env=env)
        assert service is not None
        await service.start()
        try:
            uploaded = await service.upload(ALICE, "a.md", "assistants", b"signed bytes")
            assert await service.file_content(ALICE, uploaded.id) == b"signed bytes"
        finally:
            await service.aclose()

        refused = build_knowledge_service(settings, store, embeddings(), env=wrong)
        assert refused is not None
        with pytest.raises(BlobStoreUnavailable) as raised:
            await refused.start()
    finally:
        require_auth(endpoint, False)
    message = str(raised.value)
    assert f"bucket {bucket!r}" in message
    assert "the environment variables BLOBS_KEY_ID and BLOBS_SECRET" in message
    assert "SignatureDoesNotMatch" in message
    assert "not-the-secret" not in message


async def test_a_missing_bucket_stops_start_naming_it(
    tmp_path: Path, store: Store, endpoint: str
) -> None:
    settings = settings_from(tmp_path, s3_table(endpoint, "no-such-uploads"))
    service = build_knowledge_service(settings, store, embeddings(), env=ENV)
    assert service is not None
    with pytest.raises(BlobStoreUnavailable, match=r"bucket 'no-such-uploads' .* does not exist"):
        await service.start()


async def test_without_s3_uploads_go_to_blob_dir(tmp_path: Path, store: Store) -> None:
    blob_dir = tmp_path / "blobs"
    settings = settings_from(
        tmp_path, f'[knowledge]\nembedding_model = "fake-bow"\nblob_dir = "{blob_dir}"\n'
    )
    service = build_knowledge_service(settings, store, embeddings(), env={})
    assert service is not None
    await service.start()
    try:
        uploaded = await service.upload(ALICE, "a.md", "assistants", b"local bytes")
        assert [path.name for path in blob_dir.rglob("file-*")] == [uploaded.id]
        assert await service.file_content(ALICE, uploaded.id) == b"local bytes"
    finally:
        await service.aclose()
