"""Verification evidence: offers gain how long their verification holds and who vouched for it; the
evidence vendors submit gets a table; footprint versions say who changed them. Offers ticked "verified"
before evidence existed are self-declared from now on (a vendor's tick and the operator's import cannot be
told apart).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 09:08:43.931525
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import matchmaker.db.base

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "verification_evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("offer_id", sa.Integer(), nullable=False),
        sa.Column("verifier", sa.String(length=200), nullable=False),
        sa.Column("accreditation", sa.String(length=200), nullable=True),
        sa.Column("report_number", sa.String(length=100), nullable=False),
        sa.Column("standard", sa.String(length=100), nullable=True),
        sa.Column("verified_on", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("pcf_value", sa.Float(), nullable=True),
        sa.Column("pcf_unit", sa.String(length=32), nullable=True),
        sa.Column("document_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("review_reason", sa.Text(), nullable=True),
        sa.Column("submitted_at", matchmaker.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reviewed_at", matchmaker.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_verification_evidence_document_id_documents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["offer_id"],
            ["offers.id"],
            name=op.f("fk_verification_evidence_offer_id_offers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verification_evidence")),
    )
    with op.batch_alter_table("verification_evidence", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_verification_evidence_offer_id"), ["offer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_verification_evidence_status"), ["status"], unique=False)

    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("verified_until", matchmaker.db.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("verification_source", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("verified_by", sa.String(length=200), nullable=True))
    # Before evidence, a vendor's own tick set pcf_verified; nothing tells it from the operator's word, so
    # none counts: the operator's next import of its files vouches again, vendors file evidence.
    op.execute("UPDATE offers SET pcf_verified = false WHERE pcf_verified")
    with op.batch_alter_table("footprint_versions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("verified_until", matchmaker.db.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("verification_source", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("verified_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("changed_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_footprint_versions_changed_by_id_organisations"),
            "organisations",
            ["changed_by_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("footprint_versions", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_footprint_versions_changed_by_id_organisations"), type_="foreignkey"
        )
        for column in ("changed_by_id", "verified_by", "verification_source", "verified_until"):
            batch_op.drop_column(column)
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.drop_column("verified_by")
        batch_op.drop_column("verification_source")
        batch_op.drop_column("verified_until")

    with op.batch_alter_table("verification_evidence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_verification_evidence_status"))
        batch_op.drop_index(batch_op.f("ix_verification_evidence_offer_id"))

    op.drop_table("verification_evidence")
