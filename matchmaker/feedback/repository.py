"""SQL for buyers' feedback on matches."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from matchmaker.db.models import MatchFeedback


def get(session: Session, *, need_id: int, offer_id: int) -> MatchFeedback | None:
    return session.get(MatchFeedback, (need_id, offer_id))


def of_need(session: Session, need_id: int) -> Sequence[MatchFeedback]:
    return session.scalars(
        select(MatchFeedback)
        .where(MatchFeedback.need_id == need_id)
        .options(joinedload(MatchFeedback.offer))
        .order_by(MatchFeedback.updated_at.desc())
    ).all()
