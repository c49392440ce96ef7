"""Needs carry a year's quantity, the footprint of what is bought today, a delivery window and the last day
offers are wanted

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("needs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("quantity", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("quantity_unit", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("baseline_pcf", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("baseline_pcf_unit", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("delivery_from", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("delivery_until", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("respond_by", sa.Date(), nullable=True))
        batch_op.create_index(batch_op.f("ix_needs_respond_by"), ["respond_by"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("needs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_needs_respond_by"))
        batch_op.drop_column("respond_by")
        batch_op.drop_column("delivery_until")
        batch_op.drop_column("delivery_from")
        batch_op.drop_column("baseline_pcf_unit")
        batch_op.drop_column("baseline_pcf")
        batch_op.drop_column("quantity_unit")
        batch_op.drop_column("quantity")
