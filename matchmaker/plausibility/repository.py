"""The offers a plausibility review reads: its peers, and the queue of held ones."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from matchmaker.db.models import Offer
from matchmaker.offers.visibility import matchable_where

HELD = "held"


def peers(session: Session, *, families: Sequence[str], owner_id: int, most: int) -> list[Offer]:
    """The offers a footprint is compared with: those matching may rank (published, by an admitted
    supplier) in these unit families, the most recent `most` of them, and all of the owner's."""
    matchable = select(Offer).where(matchable_where(), Offer.pcf_family.in_(list(families)))
    recent = session.scalars(matchable.order_by(Offer.updated_at.desc(), Offer.id.desc()).limit(most)).all()
    own = session.scalars(matchable.where(Offer.owner_id == owner_id)).all()
    return list({offer.id: offer for offer in (*recent, *own)}.values())


def held(session: Session) -> Sequence[Offer]:
    """The offers waiting for the operator's review, oldest first."""
    return session.scalars(
        select(Offer).where(Offer.status == HELD).order_by(Offer.updated_at, Offer.id)
    ).all()
