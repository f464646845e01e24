"""The schema, as SQLAlchemy Core tables. The Alembic migrations mirror this metadata:
change both together (a new revision under migrations/versions, never an edited one)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from openscope.core.principal import DEFAULT_WORKSPACE

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# An auto-incrementing 64-bit key; SQLite only aliases the rowid for "INTEGER PRIMARY KEY".
SEQ_TYPE = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData(naming_convention=NAMING_CONVENTION)

responses = Table(
    "responses",
    metadata,
    Column("id", String, primary_key=True),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False, index=True),
    Column("model", String, nullable=False),
    Column("status", String, nullable=False),
    Column("settings", JSON, nullable=False),
    Column("usage", JSON, nullable=False),
    Column("previous_response_id", String, nullable=True, index=True),
    Column("conversation_id", String, nullable=True),
    Column("error", JSON, nullable=True),
    Column("incomplete_reason", String, nullable=True),
    Column("workspace", String, nullable=False, server_default=DEFAULT_WORKSPACE),
)

response_items = Table(
    "response_items",
    metadata,
    Column(
        "response_id",
        String,
        ForeignKey("responses.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("kind", String, nullable=False),  # "input" or "output"
    Column("position", Integer, nullable=False),
    Column("item_id", String, nullable=False),
    Column("item", JSON, nullable=False),
    PrimaryKeyConstraint("response_id", "kind", "position"),
)

conversations = Table(
    "conversations",
    metadata,
    Column("id", String, primary_key=True),
    Column("created_at", BigInteger, nullable=False),
    Column("metadata", JSON, nullable=False),
    Column("workspace", String, nullable=False, server_default=DEFAULT_WORKSPACE),
)

conversation_items = Table(
    "conversation_items",
    metadata,
    Column("seq", SEQ_TYPE, primary_key=True, autoincrement=True),
    Column(
        "conversation_id",
        String,
        ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("item_id", String, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("item", JSON, nullable=False),
    UniqueConstraint("conversation_id", "item_id"),
    Index(None, "conversation_id"),
)

INPUT = "input"
OUTPUT = "output"

# The platform: workspaces own keys, limits and stored state; keys are kept as a digest.

workspaces = Table(
    "workspaces",
    metadata,
    Column("id", String, primary_key=True),
    Column("name", String, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("models", JSON, nullable=True),  # the models its keys may call; null: every one
    Column("limits", JSON, nullable=False),  # model or "*" -> RateLimits.as_dict()
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String, primary_key=True),  # public: logs, records and the admin API show it
    Column("digest", String, nullable=False, unique=True),  # HMAC-SHA256(pepper, key), hex
    Column("name", String, nullable=False),
    Column("workspace", String, ForeignKey("workspaces.id"), nullable=False, index=True),
    Column("redacted", String, nullable=False),  # "sk-abcd...wxyz"
    Column("models", JSON, nullable=True),  # narrower than the workspace's; null: its own
    Column("limits", JSON, nullable=False),
    Column("scopes", JSON, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("last_used_at", BigInteger, nullable=True),
    Column("expires_at", BigInteger, nullable=True),
    Column("revoked_at", BigInteger, nullable=True),
)

# One row per finished request, never updated; `usage_hourly` rolls them up.
usage_events = Table(
    "usage_events",
    metadata,
    Column("seq", SEQ_TYPE, primary_key=True, autoincrement=True),
    Column("request_id", String, nullable=False, unique=True),
    Column("created_at", BigInteger, nullable=False, index=True),  # ms since the epoch
    Column("workspace", String, nullable=False),
    Column("key_id", String, nullable=False),
    Column("model", String, nullable=False),
    Column("api", String, nullable=False),
    Column("status", String, nullable=False),
    Column("input_tokens", BigInteger, nullable=False),
    Column("output_tokens", BigInteger, nullable=False),
    Column("reasoning_tokens", BigInteger, nullable=False),
    Column("cached_tokens", BigInteger, nullable=False),
    Column("cache_creation_tokens", BigInteger, nullable=False),
    Column("cache_type", String, nullable=True),
    Column("builtin_tools", JSON, nullable=False),  # tool kind -> calls
    Column("billed_input_tokens", Float, nullable=False),  # input at Model Studio's cache rates
    Column("cost", Float, nullable=False),
    Column("latency_ms", Integer, nullable=False),
    Column("ttft_ms", Integer, nullable=True),
    Index(None, "workspace", "created_at"),
)

# The events summed per hour, workspace, key, model, API and status: a row's status says
# whether its requests failed, so there is no count of errors beside it.
usage_hourly = Table(
    "usage_hourly",
    metadata,
    Column("hour", BigInteger, nullable=False),  # seconds since the epoch, on the hour
    Column("workspace", String, nullable=False),
    Column("key_id", String, nullable=False),
    Column("model", String, nullable=False),
    Column("api", String, nullable=False),
    Column("status", String, nullable=False),
    Column("requests", BigInteger, nullable=False),
    Column("input_tokens", BigInteger, nullable=False),
    Column("output_tokens", BigInteger, nullable=False),
    Column("reasoning_tokens", BigInteger, nullable=False),
    Column("cached_tokens", BigInteger, nullable=False),
    Column("cache_creation_tokens", BigInteger, nullable=False),
    Column("billed_input_tokens", Float, nullable=False),
    Column("cost", Float, nullable=False),
    PrimaryKeyConstraint("hour", "workspace", "key_id", "model", "api", "status"),
)

# How far the hourly rollup has read `usage_events` (one row, name "usage_hourly").
rollup_marks = Table(
    "rollup_marks",
    metadata,
    Column("name", String, primary_key=True),
    Column("seq", SEQ_TYPE, nullable=False),
)

# Files and vector stores (core.knowledge). A file's bytes live in a blob store, not here;
# a vector store's chunks are here, their vectors and keyword index in the chunk index.

files = Table(
    "files",
    metadata,
    Column("id", String, primary_key=True),
    Column("workspace", String, nullable=False),
    Column("filename", String, nullable=False),
    Column("purpose", String, nullable=False),
    Column("bytes", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=True, index=True),
    Index(None, "workspace", "created_at"),
)

vector_stores = Table(
    "vector_stores",
    metadata,
    Column("id", String, primary_key=True),
    Column("workspace", String, nullable=False),
    Column("name", String, nullable=True),
    Column("description", String, nullable=True),
    Column("metadata", JSON, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("last_active_at", BigInteger, nullable=False),
    Column("expires_after_days", Integer, nullable=True),
    # the embedder its vectors came from: searching or adding with another is refused
    Column("embedder_model", String, nullable=False),
    Column("embedder_dims", Integer, nullable=False),
    Index(None, "workspace", "created_at"),
)

vector_store_files = Table(
    "vector_store_files",
    metadata,
    Column("store_id", String, ForeignKey("vector_stores.id", ondelete="CASCADE"), nullable=False),
    Column("file_id", String, nullable=False, index=True),
    Column("created_at", BigInteger, nullable=False),
    Column("status", String, nullable=False),
    Column("attributes", JSON, nullable=False),
    Column("max_chunk_size_tokens", Integer, nullable=False),
    Column("chunk_overlap_tokens", Integer, nullable=False),
    Column("usage_bytes", BigInteger, nullable=False),
    Column("last_error_code", String, nullable=True),
    Column("last_error_message", String, nullable=True),
    Column("batch_id", String, nullable=True, index=True),
    # the ingestion worker's lease (epoch seconds): an in_progress file whose lease ran
    # out (its worker died) is claimed again by any replica
    Column("claimed_until", BigInteger, nullable=True),
    # claims of the file by a worker that did not finish or give it back: one whose
    # ingestion kills the server is failed after a few, not claimed forever
    Column("attempts", Integer, nullable=False, server_default="0"),
    PrimaryKeyConstraint("store_id", "file_id"),
    Index(None, "status", "claimed_until"),
)

file_batches = Table(
    "file_batches",
    metadata,
    Column("id", String, primary_key=True),
    Column("store_id", String, ForeignKey("vector_stores.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("cancelled", Boolean, nullable=False),
)

chunks = Table(
    "chunks",
    metadata,
    Column("id", SEQ_TYPE, primary_key=True, autoincrement=True),
    Column("store_id", String, ForeignKey("vector_stores.id", ondelete="CASCADE"), nullable=False),
    Column("file_id", String, nullable=False),
    Column("position", Integer, nullable=False),
    Column("text", Text, nullable=False),
    Column("tokens", Integer, nullable=False),
    Index(None, "store_id", "file_id", "position"),
    # ids are never reused (SQLite would reuse the highest deleted ones): a chunk id the
    # index or a worker still holds can never name another file's chunk
    sqlite_autoincrement=True,
)
