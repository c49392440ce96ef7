"""Organisations gain their registration (unified social credit code, business licence, contact) and the
reason for a rejection; uploaded documents get a table of their own.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import matchmaker.db.base

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_organisation_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("created_at", matchmaker.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_organisation_id"],
            ["organisations.id"],
            name=op.f("fk_documents_owner_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
    )
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_documents_owner_organisation_id"), ["owner_organisation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_documents_sha256"), ["sha256"], unique=False)

    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("admission_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("credit_code", sa.String(length=18), nullable=True))
        batch_op.add_column(sa.Column("licence_document_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("contact_name", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("contact_phone", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("contact_email", sa.String(length=254), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_organisations_credit_code"), ["credit_code"])
        batch_op.create_foreign_key(
            batch_op.f("fk_organisations_licence_document_id_documents"),
            "documents",
            ["licence_document_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_organisations_licence_document_id_documents"), type_="foreignkey"
        )
        batch_op.drop_constraint(batch_op.f("uq_organisations_credit_code"), type_="unique")
        for column in (
            "contact_email", "contact_phone", "contact_name", "licence_document_id", "credit_code",
            "admission_reason",
        ):  # fmt: skip
            batch_op.drop_column(column)
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_documents_sha256"))
        batch_op.drop_index(batch_op.f("ix_documents_owner_organisation_id"))
    op.drop_table("documents")
