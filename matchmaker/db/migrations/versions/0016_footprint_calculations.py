"""Footprints calculated from a bill of materials (their calculations, kept), and where a footprint came from
(calculated, or imported from an LCA tool) on offers and in their footprint history.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 15:00:57.386169
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import matchmaker.db.base

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "footprint_calculations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("offer_id", sa.Integer(), nullable=False),
        sa.Column("library_version", sa.String(length=32), nullable=False),
        sa.Column("bom", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("total", sa.Float(), nullable=True),
        sa.Column("unit", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("created_at", matchmaker.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["organisations.id"],
            name=op.f("fk_footprint_calculations_created_by_id_organisations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["library_version"],
            ["factor_libraries.version"],
            name=op.f("fk_footprint_calculations_library_version_factor_libraries"),
        ),
        sa.ForeignKeyConstraint(
            ["offer_id"],
            ["offers.id"],
            name=op.f("fk_footprint_calculations_offer_id_offers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_footprint_calculations")),
    )
    with op.batch_alter_table("footprint_calculations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_footprint_calculations_library_version"), ["library_version"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_footprint_calculations_offer_id"), ["offer_id"], unique=False)

    with op.batch_alter_table("footprint_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pcf_origin", sa.String(length=16), nullable=True))

    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pcf_origin", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("pcf_provenance", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.drop_column("pcf_provenance")
        batch_op.drop_column("pcf_origin")

    with op.batch_alter_table("footprint_versions", schema=None) as batch_op:
        batch_op.drop_column("pcf_origin")

    with op.batch_alter_table("footprint_calculations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_footprint_calculations_offer_id"))
        batch_op.drop_index(batch_op.f("ix_footprint_calculations_library_version"))

    op.drop_table("footprint_calculations")
