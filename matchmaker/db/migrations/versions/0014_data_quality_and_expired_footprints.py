"""Footprint data quality, validity and plausibility review: offers gain their data quality (primary data
share, quality ratings, retrospective or prospective, who verified them), the end of their footprint's
validity, and what a plausibility hold needs;
evidence says who the verifier is to the vendor (an independent body, unless it says otherwise); needs
gain the data-quality filters and their choice for expired verifications (ranked down, as before).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 11:52:34.188401
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

import matchmaker.db.base

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("needs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("min_primary_share", sa.Float(), nullable=True))
        batch_op.add_column(
            sa.Column("require_third_party", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("expired_footprints", sa.String(length=16), nullable=False, server_default="rank_down")
        )
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("verification_party", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("primary_data_share", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("dqr_technological", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("dqr_temporal", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("dqr_geographical", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("pcf_basis", sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column("footprint_valid_until", matchmaker.db.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("plausibility_hold", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("plausible_footprint", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("plausibility_reason", sa.Text(), nullable=True))
    with op.batch_alter_table("verification_evidence", schema=None) as batch_op:
        batch_op.add_column(sa.Column("party", sa.String(length=8), nullable=False, server_default="third"))
    _footprints_valid_for_three_years()
    # What is verified today was vouched for by the operator or by evidence, both independent bodies so far.
    op.execute("UPDATE offers SET verification_party = 'third' WHERE pcf_verified")
    # Defaults for the rows above only: new rows take theirs from the models.
    for table, column in (
        ("needs", "require_third_party"),
        ("needs", "expired_footprints"),
        ("verification_evidence", "party"),
    ):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(column, server_default=None)


def _footprints_valid_for_three_years() -> None:
    """A footprint stated before validity was kept: valid as long as its verification (PACT pulls and
    operator imports state it), else three years after the offer last changed (when it was stated, at the
    latest). Read and written in Python: date arithmetic is spelled differently on each database."""
    offers = sa.table(
        "offers",
        sa.column("id", sa.Integer()),
        sa.column("pcf_value", sa.Float()),
        sa.column("pcf_verified", sa.Boolean()),
        sa.column("verified_until", matchmaker.db.base.UTCDateTime()),
        sa.column("updated_at", matchmaker.db.base.UTCDateTime()),
        sa.column("footprint_valid_until", matchmaker.db.base.UTCDateTime()),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(offers.c.id, offers.c.pcf_verified, offers.c.verified_until, offers.c.updated_at).where(
            offers.c.pcf_value.is_not(None)
        )
    ).all()
    valid = [
        {
            "row_id": row.id,
            "until": row.verified_until
            if row.pcf_verified and row.verified_until
            else _three_years_after(row.updated_at),
        }
        for row in rows
    ]
    statement = (
        sa.update(offers)
        .where(offers.c.id == sa.bindparam("row_id"))
        .values(footprint_valid_until=sa.bindparam("until"))
    )
    for start in range(0, len(valid), 5_000):  # executemany, a batch at a time
        connection.execute(statement, valid[start : start + 5_000])


def _three_years_after(moment: datetime) -> datetime:
    try:
        return moment.replace(year=moment.year + 3)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year + 3, day=28)


def downgrade() -> None:
    with op.batch_alter_table("verification_evidence", schema=None) as batch_op:
        batch_op.drop_column("party")
    with op.batch_alter_table("offers", schema=None) as batch_op:
        for column in (
            "footprint_valid_until",
            "plausibility_reason",
            "plausible_footprint",
            "plausibility_hold",
            "pcf_basis",
            "dqr_geographical",
            "dqr_temporal",
            "dqr_technological",
            "primary_data_share",
            "verification_party",
        ):
            batch_op.drop_column(column)
    # A held offer goes back to its vendor as a draft: nothing older knows the status.
    op.execute("UPDATE offers SET status = 'draft' WHERE status = 'held'")
    op.execute("UPDATE footprint_versions SET status = 'draft' WHERE status = 'held'")
    with op.batch_alter_table("needs", schema=None) as batch_op:
        for column in ("expired_footprints", "require_third_party", "min_primary_share"):
            batch_op.drop_column(column)
