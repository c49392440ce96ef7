"""Alerts and where they are posted (webhooks and their deliveries), the alerts' place in the feed, the
fits buyers already know, and every version of an offer's footprint (seeded with each offer's current one)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import matchmaker.db.base

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feed_positions",
        sa.Column("consumer", sa.String(length=32), nullable=False),
        sa.Column("position", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("updated_at", matchmaker.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("consumer", name=op.f("pk_feed_positions")),
    )
    op.create_table(
        "webhooks",
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=False),
        sa.Column("delivery", sa.String(length=8), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("disabled_at", matchmaker.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("digest_sent_at", matchmaker.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("digest_through", sa.Integer(), nullable=False),
        sa.Column("created_at", matchmaker.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", matchmaker.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_webhooks_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organisation_id", name=op.f("pk_webhooks")),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("alert_ids", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", matchmaker.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", matchmaker.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["webhooks.organisation_id"],
            name=op.f("fk_webhook_deliveries_organisation_id_webhooks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webhook_deliveries_next_attempt_at"), ["next_attempt_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_webhook_deliveries_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_webhook_deliveries_status"), ["status"], unique=False)

    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("need_id", sa.Integer(), nullable=True),
        sa.Column("offer_id", sa.Integer(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", matchmaker.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("read_at", matchmaker.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["need_id"], ["needs.id"], name=op.f("fk_alerts_need_id_needs"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["offer_id"], ["offers.id"], name=op.f("fk_alerts_offer_id_offers"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_alerts_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint("organisation_id", "key", name=op.f("uq_alerts_organisation_id")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alerts_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_need_id"), ["need_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_offer_id"), ["offer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_organisation_id"), ["organisation_id"], unique=False)

    op.create_table(
        "footprint_versions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("offer_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("pcf_value", sa.Float(), nullable=True),
        sa.Column("pcf_unit", sa.String(length=32), nullable=True),
        sa.Column("pcf_verified", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("recorded_at", matchmaker.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["offer_id"],
            ["offers.id"],
            name=op.f("fk_footprint_versions_offer_id_offers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_footprint_versions")),
        sa.UniqueConstraint("offer_id", "version", name=op.f("uq_footprint_versions_offer_id")),
    )
    with op.batch_alter_table("footprint_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_footprint_versions_offer_id"), ["offer_id"], unique=False)

    op.create_table(
        "known_fits",
        sa.Column("need_id", sa.Integer(), nullable=False),
        sa.Column("offer_id", sa.Integer(), nullable=False),
        sa.Column("since", matchmaker.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["need_id"], ["needs.id"], name=op.f("fk_known_fits_need_id_needs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["offer_id"], ["offers.id"], name=op.f("fk_known_fits_offer_id_offers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("need_id", "offer_id", name=op.f("pk_known_fits")),
    )
    # Each offer's footprint as it stands: the version a later change is compared with.
    op.execute(
        "INSERT INTO footprint_versions (offer_id, version, pcf_value, pcf_unit, pcf_verified, status, "
        "recorded_at) SELECT id, version, pcf_value, pcf_unit, pcf_verified, status, updated_at FROM offers"
    )


def downgrade() -> None:
    op.drop_table("known_fits")
    with op.batch_alter_table("footprint_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_footprint_versions_offer_id"))

    op.drop_table("footprint_versions")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alerts_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_alerts_offer_id"))
        batch_op.drop_index(batch_op.f("ix_alerts_need_id"))
        batch_op.drop_index(batch_op.f("ix_alerts_created_at"))

    op.drop_table("alerts")
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_deliveries_status"))
        batch_op.drop_index(batch_op.f("ix_webhook_deliveries_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_webhook_deliveries_next_attempt_at"))

    op.drop_table("webhook_deliveries")
    op.drop_table("webhooks")
    op.drop_table("feed_positions")
