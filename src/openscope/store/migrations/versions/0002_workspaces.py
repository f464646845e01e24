"""Stored responses and conversations belong to a workspace; rows kept before workspaces
existed belong to `default`, the workspace of the configured keys.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None

DEFAULT_WORKSPACE = "default"  # as of this revision: migrations never import live code


# Plain ADD/DROP COLUMN, which SQLite does in place: a batch (copy-and-rename) migration
# would drop `responses`, and with foreign keys on that cascades to every stored item.


def upgrade() -> None:
    for table in ("responses", "conversations"):
        op.add_column(
            table,
            sa.Column("workspace", sa.String(), nullable=False, server_default=DEFAULT_WORKSPACE),
        )


def downgrade() -> None:
    for table in ("responses", "conversations"):
        op.drop_column(table, "workspace")
