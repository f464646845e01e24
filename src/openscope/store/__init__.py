"""Durable state: stored responses, conversations and their items, on SQLite (default,
WAL mode) or PostgreSQL, with Alembic migrations applied at open."""

from openscope.store.database import create_engine, migrate, open_store, sqlite_url
from openscope.store.store import Store

__all__ = ["Store", "create_engine", "migrate", "open_store", "sqlite_url"]
