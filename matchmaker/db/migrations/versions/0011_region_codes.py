"""Regions are stored as codes of the one region list (`matchmaker.regions`): 江苏, Jiangsu and 江苏省 all
become CN-JS. A value no region has is kept as it was written.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

from matchmaker import regions

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (("organisations", "region"), ("offers", "region"), ("needs", "region_preference"))


def _rewrite(table: str, column: str, new_value: Callable[[str], str | None]) -> None:
    connection = op.get_bind()
    values = connection.execute(sa.text(f"SELECT DISTINCT {column} FROM {table} WHERE {column} IS NOT NULL"))
    for (old,) in values.fetchall():
        new = new_value(old)
        if new is not None and new != old:
            connection.execute(
                sa.text(f"UPDATE {table} SET {column} = :new WHERE {column} = :old"), {"new": new, "old": old}
            )


def _code(value: str) -> str | None:
    found = regions.find(value)
    return found.code if found else None


def upgrade() -> None:
    for table, column in COLUMNS:
        _rewrite(table, column, _code)


def downgrade() -> None:
    for table, column in COLUMNS:
        _rewrite(table, column, regions.english_name)
