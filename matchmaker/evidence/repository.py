"""SQL for verification evidence."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from matchmaker.db.models import VerificationEvidence


def add(session: Session, evidence: VerificationEvidence) -> VerificationEvidence:
    session.add(evidence)
    session.flush()
    return evidence


def get(session: Session, evidence_id: int) -> VerificationEvidence | None:
    return session.get(VerificationEvidence, evidence_id)


def of_offer(
    session: Session, offer_id: int, *, statuses: Sequence[str] | None
) -> Sequence[VerificationEvidence]:
    statement = select(VerificationEvidence).where(VerificationEvidence.offer_id == offer_id)
    if statuses is not None:
        statement = statement.where(VerificationEvidence.status.in_(list(statuses)))
    return session.scalars(statement.order_by(VerificationEvidence.id.desc())).all()


def with_status(session: Session, status: str, *, limit: int) -> Sequence[VerificationEvidence]:
    """The oldest first: a review queue is worked in the order it was filled."""
    statement = (
        select(VerificationEvidence)
        .where(VerificationEvidence.status == status)
        .options(joinedload(VerificationEvidence.offer))
        .order_by(VerificationEvidence.submitted_at, VerificationEvidence.id)
        .limit(limit)
    )
    return session.scalars(statement).all()
