"""SQL for shortlists."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from matchmaker.db.models import Offer, ShortlistEntry


def get(session: Session, *, need_id: int, offer_id: int) -> ShortlistEntry | None:
    return session.scalar(
        select(ShortlistEntry).where(ShortlistEntry.need_id == need_id, ShortlistEntry.offer_id == offer_id)
    )


def entries_of(session: Session, need_id: int) -> Sequence[ShortlistEntry]:
    """A need's shortlist in the order the offers were added, each offer and its supplier loaded."""
    return session.scalars(
        select(ShortlistEntry)
        .where(ShortlistEntry.need_id == need_id)
        .options(joinedload(ShortlistEntry.offer).joinedload(Offer.owner))
        .order_by(ShortlistEntry.created_at, ShortlistEntry.id)
    ).all()


def shortlisted_offer_ids(session: Session, need_id: int) -> set[int]:
    return set(session.scalars(select(ShortlistEntry.offer_id).where(ShortlistEntry.need_id == need_id)))
