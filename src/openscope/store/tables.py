"""The schema, as SQLAlchemy Core tables. The Alembic migrations mirror this metadata:
change both together (a new revision under migrations/versions, never an edited one)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
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
