"""Files, vector stores and file_search, built from the `[knowledge]` settings over the
store and one of the `[embeddings]` models, with uploads in a local directory or, when
`[knowledge.s3]` is set, in an S3-compatible bucket."""

from __future__ import annotations

import os
from collections.abc import Mapping

from openscope.core.errors import OpenScopeError
from openscope.engine.knowledge import KnowledgeLimits, KnowledgeService, build_knowledge
from openscope.server.embeddings import EmbeddingModels
from openscope.settings import KnowledgeS3Settings, Settings, SettingsError
from openscope.store import Store
from openscope.store.knowledge import S3BlobStore, S3Credentials, S3Location


def build_knowledge_service(
    settings: Settings,
    store: Store,
    embeddings: EmbeddingModels | None,
    env: Mapping[str, str] | None = None,
) -> KnowledgeService | None:
    """The knowledge service (None when `[knowledge] enabled = false`), not started: the
    lifespan starts it once the store is migrated (which checks the S3 bucket, if any).
    Raises `SettingsError` when the embedding model it names is not served, or when an
    environment variable `[knowledge.s3]` names for the credentials is not set (`env`:
    the process's environment unless given)."""
    config = settings.knowledge
    if not config.enabled:
        return None
    if embeddings is None:
        raise SettingsError(
            "knowledge: vector stores need an embedding model, and [embeddings] is switched "
            "off (set [knowledge] enabled = false, or turn [embeddings] back on)"
        )
    try:
        embedder = embeddings.embedder(config.embedding_model)
    except OpenScopeError:
        raise SettingsError(
            f"knowledge.embedding_model: {config.embedding_model!r} is not one of the "
            "[embeddings] models or their aliases"
        ) from None
    limits = KnowledgeLimits(
        max_file_bytes=config.max_file_bytes,
        purposes=frozenset(config.purposes),
        file_retention_seconds=config.file_retention_seconds,
        lease_seconds=config.lease_seconds,
        ingest_concurrency=config.ingest_concurrency,
        embed_batch=config.embed_batch,
        max_extracted_chars=config.max_extracted_chars,
        max_chunks_per_file=config.max_chunks_per_file,
        max_files_per_workspace=config.max_files_per_workspace,
        max_bytes_per_workspace=config.max_bytes_per_workspace,
    )
    if config.s3 is not None:
        blobs = s3_blob_store(config.s3, os.environ if env is None else env)
        return build_knowledge(store, settings.data_dir, embedder, limits, blobs=blobs)
    return build_knowledge(store, settings.data_dir, embedder, limits, blob_dir=config.blob_dir)


def s3_blob_store(config: KnowledgeS3Settings, env: Mapping[str, str]) -> S3BlobStore:
    """The bucket `[knowledge.s3]` describes, not opened, its credentials read from the
    environment variables it names. Raises `SettingsError` naming a variable not set."""
    return S3BlobStore(
        S3Location(
            bucket=config.bucket,
            prefix=config.prefix,
            endpoint_url=config.endpoint_url,
            region=config.region,
            addressing_style=config.addressing_style,
            connect_timeout=config.connect_timeout_seconds,
            read_timeout=config.read_timeout_seconds,
            max_attempts=config.max_attempts,
            max_connections=config.max_connections,
        ),
        s3_credentials(config, env),
    )


def s3_credentials(config: KnowledgeS3Settings, env: Mapping[str, str]) -> S3Credentials:
    names = [config.access_key_env, config.secret_key_env]
    if config.session_token_env is not None:
        names.append(config.session_token_env)
    for name in names:
        if not env.get(name):
            raise SettingsError(
                f"knowledge.s3: the credentials for the bucket {config.bucket!r} are read from "
                f"the environment variable {name}, which is not set"
            )
    return S3Credentials(
        access_key=env[config.access_key_env],
        secret_key=env[config.secret_key_env],
        session_token=None if config.session_token_env is None else env[config.session_token_env],
        source=f"the environment variables {' and '.join(names)}",
    )
