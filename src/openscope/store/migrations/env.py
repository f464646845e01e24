"""Alembic environment. Migrations run on the connection `open_store` hands over in
`config.attributes["connection"]` (inside its transaction), so the same path serves SQLite
and PostgreSQL; offline mode (SQL scripts) needs `sqlalchemy.url` set on the config."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from openscope.store.tables import metadata


def _run_online(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def _run_offline() -> None:
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    _run_offline()
else:
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError("openscope migrations run through openscope.store.open_store")
    _run_online(connection)
