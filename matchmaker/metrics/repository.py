"""SQL for the operator's metrics: counts over needs, known fits, inquiries and feedback."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from matchmaker.db.models import Inquiry, InquiryMessage, KnownFit, MatchFeedback, Need


def recent_needs(session: Session, *, limit: int) -> Sequence[Need]:
    return session.scalars(
        select(Need)
        .options(joinedload(Need.owner))
        .order_by(Need.created_at.desc(), Need.id.desc())
        .limit(limit)
    ).all()


def first_fits(session: Session, need_ids: Sequence[int]) -> dict[int, datetime]:
    """When each need was first found to have a match."""
    rows = session.execute(
        select(KnownFit.need_id, func.min(KnownFit.since))
        .where(KnownFit.need_id.in_(need_ids))
        .group_by(KnownFit.need_id)
    )
    return {need_id: since for need_id, since in rows}


def inquiry_counts(
    session: Session, need_ids: Sequence[int] | None = None
) -> dict[int | None, dict[str, int]]:
    """Per need (None: all inquiries): how many were sent, quoted, won, lost and declined."""
    quoted = select(InquiryMessage.inquiry_id).where(InquiryMessage.kind == "quote").distinct().subquery()
    counts = (
        func.count(Inquiry.id),
        func.count(quoted.c.inquiry_id),
        func.count(Inquiry.id).filter(Inquiry.outcome == "won"),
        func.count(Inquiry.id).filter(Inquiry.outcome == "lost"),
        func.count(Inquiry.id).filter(Inquiry.status == "declined"),
    )
    names = ("sent", "quoted", "won", "lost", "declined")
    if need_ids is None:
        row = session.execute(
            select(*counts).select_from(Inquiry).outerjoin(quoted, quoted.c.inquiry_id == Inquiry.id)
        ).one()
        return {None: dict(zip(names, row, strict=True))}
    rows = session.execute(
        select(Inquiry.need_id, *counts)
        .outerjoin(quoted, quoted.c.inquiry_id == Inquiry.id)
        .where(Inquiry.need_id.in_(need_ids))
        .group_by(Inquiry.need_id)
    )
    return {row[0]: dict(zip(names, row[1:], strict=True)) for row in rows}


def verdict_counts(session: Session, *, top: int) -> dict[str, tuple[int, int]]:
    """Per verdict: how many were given, and how many of those on offers ranked `top` or better."""
    rows = session.execute(
        select(
            MatchFeedback.verdict,
            func.count(),
            func.count().filter(MatchFeedback.rank <= top),
        ).group_by(MatchFeedback.verdict)
    )
    return {verdict: (given, in_top) for verdict, given, in_top in rows}
