"""PACT OAuth clients: each belongs to an organisation; only the secret's hash is stored

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import matchmaker.db.base

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pact_clients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=True),
        sa.Column("callback_url", sa.String(length=500), nullable=True),
        sa.Column("callback_client_id", sa.String(length=200), nullable=True),
        sa.Column("callback_client_secret", sa.String(length=200), nullable=True),
        sa.Column("created_at", matchmaker.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", matchmaker.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_pact_clients_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pact_clients")),
        sa.UniqueConstraint("client_id", name=op.f("uq_pact_clients_client_id")),
    )
    with op.batch_alter_table("pact_clients", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pact_clients_organisation_id"), ["organisation_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("pact_clients", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pact_clients_organisation_id"))

    op.drop_table("pact_clients")
