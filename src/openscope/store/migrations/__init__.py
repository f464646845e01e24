"""Alembic migrations for the store, applied by `open_store` at start."""
