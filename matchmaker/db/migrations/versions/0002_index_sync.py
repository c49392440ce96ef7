"""Offers and needs: ids never reused on SQLite, and an index on updated_at for the index sync

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("offers", "needs"):
        if op.get_context().dialect.name == "sqlite":
            # SQLite reuses the largest id after a delete unless the table says AUTOINCREMENT; the vector
            # index keys entries by (id, version), so a reused id could inherit a deleted row's vector.
            with op.batch_alter_table(table, recreate="always", table_kwargs={"sqlite_autoincrement": True}):
                pass
        op.create_index(f"ix_{table}_updated_at", table, ["updated_at"], unique=False)


def downgrade() -> None:
    for table in ("offers", "needs"):
        op.drop_index(f"ix_{table}_updated_at", table_name=table)
