"""The emission-factor library: its versions, and their factors with the document, table and licence each
comes from (loaded from the package's library files by `matchmaker db upgrade`).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 12:51:56.283563
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import matchmaker.db.base

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "factor_libraries",
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("factor_count", sa.Integer(), nullable=False),
        sa.Column("loaded_at", matchmaker.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_factor_libraries")),
    )
    op.create_table(
        "emission_factors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("library_version", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("unit", sa.String(length=32), nullable=False),
        sa.Column("region", sa.String(length=100), nullable=True),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("source_table", sa.String(length=200), nullable=False),
        sa.Column("licence", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["library_version"],
            ["factor_libraries.version"],
            name=op.f("fk_emission_factors_library_version_factor_libraries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_emission_factors")),
        sa.UniqueConstraint("library_version", "key", name=op.f("uq_emission_factors_library_version")),
    )
    with op.batch_alter_table("emission_factors", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_emission_factors_kind"), ["kind"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_emission_factors_library_version"), ["library_version"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("emission_factors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_emission_factors_library_version"))
        batch_op.drop_index(batch_op.f("ix_emission_factors_kind"))

    op.drop_table("emission_factors")
    op.drop_table("factor_libraries")
