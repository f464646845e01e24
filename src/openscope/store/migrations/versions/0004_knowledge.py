"""Files and vector stores: uploaded files (their bytes live in a blob store), vector
stores, the files attached to them (with the ingestion worker's lease), file batches and
the chunks of text each file was cut into. The vectors and the keyword index are not here:
the chunk index keeps them (an SQLite file of its own, or a pgvector table it creates).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None

SEQ_TYPE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _store_key(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["store_id"],
        ["vector_stores.id"],
        name=op.f(f"fk_{table}_store_id_vector_stores"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "files",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("workspace", sa.String(), nullable=False),
        sa.Column("filename", sa.String(), nullable=False),
        sa.Column("purpose", sa.String(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_files")),
    )
    op.create_index(op.f("ix_files_expires_at"), "files", ["expires_at"])
    op.create_index(op.f("ix_files_workspace"), "files", ["workspace", "created_at"])
    op.create_table(
        "vector_stores",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("workspace", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=True),
        sa.Column("description", sa.String(), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("last_active_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_after_days", sa.Integer(), nullable=True),
        sa.Column("embedder_model", sa.String(), nullable=False),
        sa.Column("embedder_dims", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vector_stores")),
    )
    op.create_index(
        op.f("ix_vector_stores_workspace"), "vector_stores", ["workspace", "created_at"]
    )
    op.create_table(
        "vector_store_files",
        sa.Column("store_id", sa.String(), nullable=False),
        sa.Column("file_id", sa.String(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("max_chunk_size_tokens", sa.Integer(), nullable=False),
        sa.Column("chunk_overlap_tokens", sa.Integer(), nullable=False),
        sa.Column("usage_bytes", sa.BigInteger(), nullable=False),
        sa.Column("last_error_code", sa.String(), nullable=True),
        sa.Column("last_error_message", sa.String(), nullable=True),
        sa.Column("batch_id", sa.String(), nullable=True),
        sa.Column("claimed_until", sa.BigInteger(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        _store_key("vector_store_files"),
        sa.PrimaryKeyConstraint("store_id", "file_id", name=op.f("pk_vector_store_files")),
    )
    op.create_index(op.f("ix_vector_store_files_file_id"), "vector_store_files", ["file_id"])
    op.create_index(op.f("ix_vector_store_files_batch_id"), "vector_store_files", ["batch_id"])
    op.create_index(
        op.f("ix_vector_store_files_status"), "vector_store_files", ["status", "claimed_until"]
    )
    op.create_table(
        "file_batches",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("store_id", sa.String(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("cancelled", sa.Boolean(), nullable=False),
        _store_key("file_batches"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_file_batches")),
    )
    op.create_table(
        "chunks",
        sa.Column("id", SEQ_TYPE, autoincrement=True, nullable=False),
        sa.Column("store_id", sa.String(), nullable=False),
        sa.Column("file_id", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("tokens", sa.Integer(), nullable=False),
        _store_key("chunks"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chunks")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_chunks_store_id"), "chunks", ["store_id", "file_id", "position"])


def downgrade() -> None:
    for table in ("chunks", "file_batches", "vector_store_files", "vector_stores", "files"):
        op.drop_table(table)
