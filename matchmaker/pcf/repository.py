"""The calculations kept, and the factors a calculation reads."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from matchmaker.db.models import EmissionFactor, FootprintCalculation, Offer


def factors(session: Session, version: str) -> Sequence[EmissionFactor]:
    return session.scalars(select(EmissionFactor).where(EmissionFactor.library_version == version)).all()


def add(session: Session, calculation: FootprintCalculation) -> None:
    session.add(calculation)
    session.flush()


def of_offer(session: Session, offer_id: int) -> Sequence[FootprintCalculation]:
    """An offer's calculations, newest first."""
    return session.scalars(
        select(FootprintCalculation)
        .where(FootprintCalculation.offer_id == offer_id)
        .order_by(FootprintCalculation.id.desc())
    ).all()


def latest_of_calculated_offers(session: Session, owner_id: int | None) -> Sequence[FootprintCalculation]:
    """The newest calculation of each offer whose footprint is calculated (of one owner, or all)."""
    newest = (
        select(func.max(FootprintCalculation.id))
        .join(Offer, Offer.id == FootprintCalculation.offer_id)
        .where(Offer.pcf_origin == "calculated")
        .group_by(FootprintCalculation.offer_id)
    )
    if owner_id is not None:
        newest = newest.where(Offer.owner_id == owner_id)
    return session.scalars(
        select(FootprintCalculation)
        .where(FootprintCalculation.id.in_(newest))
        .order_by(FootprintCalculation.offer_id)
    ).all()
