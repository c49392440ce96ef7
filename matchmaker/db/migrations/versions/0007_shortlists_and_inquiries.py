"""What follows a match: a need's shortlist of offers, and inquiries with their threads of quotes

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import matchmaker.db.base

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inquiries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("buyer_id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("offer_id", sa.Integer(), nullable=True),
        sa.Column("need_id", sa.Integer(), nullable=True),
        sa.Column("offer_title", sa.String(length=500), nullable=False),
        sa.Column("quantity", sa.Float(), nullable=True),
        sa.Column("quantity_unit", sa.String(length=32), nullable=True),
        sa.Column("delivery_from", sa.Date(), nullable=True),
        sa.Column("delivery_until", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=8), nullable=True),
        sa.Column("created_at", matchmaker.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", matchmaker.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["buyer_id"],
            ["organisations.id"],
            name=op.f("fk_inquiries_buyer_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["need_id"], ["needs.id"], name=op.f("fk_inquiries_need_id_needs"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["offer_id"], ["offers.id"], name=op.f("fk_inquiries_offer_id_offers"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["organisations.id"],
            name=op.f("fk_inquiries_vendor_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inquiries")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("inquiries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inquiries_buyer_id"), ["buyer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_inquiries_need_id"), ["need_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_inquiries_offer_id"), ["offer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_inquiries_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_inquiries_vendor_id"), ["vendor_id"], unique=False)

    op.create_table(
        "shortlist_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("need_id", sa.Integer(), nullable=False),
        sa.Column("offer_id", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", matchmaker.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", matchmaker.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["need_id"], ["needs.id"], name=op.f("fk_shortlist_entries_need_id_needs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["offer_id"], ["offers.id"], name=op.f("fk_shortlist_entries_offer_id_offers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shortlist_entries")),
        sa.UniqueConstraint("need_id", "offer_id", name=op.f("uq_shortlist_entries_need_id")),
    )
    with op.batch_alter_table("shortlist_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shortlist_entries_need_id"), ["need_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_shortlist_entries_offer_id"), ["offer_id"], unique=False)

    op.create_table(
        "inquiry_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inquiry_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("price", sa.Float(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("price_unit", sa.String(length=32), nullable=True),
        sa.Column("lead_time_days", sa.Integer(), nullable=True),
        sa.Column("pcf_value", sa.Float(), nullable=True),
        sa.Column("pcf_unit", sa.String(length=32), nullable=True),
        sa.Column("created_at", matchmaker.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["organisations.id"],
            name=op.f("fk_inquiry_messages_author_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["inquiry_id"],
            ["inquiries.id"],
            name=op.f("fk_inquiry_messages_inquiry_id_inquiries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inquiry_messages")),
    )
    with op.batch_alter_table("inquiry_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inquiry_messages_inquiry_id"), ["inquiry_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("inquiry_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inquiry_messages_inquiry_id"))

    op.drop_table("inquiry_messages")
    with op.batch_alter_table("shortlist_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shortlist_entries_offer_id"))
        batch_op.drop_index(batch_op.f("ix_shortlist_entries_need_id"))

    op.drop_table("shortlist_entries")
    with op.batch_alter_table("inquiries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inquiries_vendor_id"))
        batch_op.drop_index(batch_op.f("ix_inquiries_status"))
        batch_op.drop_index(batch_op.f("ix_inquiries_offer_id"))
        batch_op.drop_index(batch_op.f("ix_inquiries_need_id"))
        batch_op.drop_index(batch_op.f("ix_inquiries_buyer_id"))

    op.drop_table("inquiries")
