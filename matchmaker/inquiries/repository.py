"""SQL for inquiries (who may see which is `inquiries.visibility`)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload, selectinload
from sqlalchemy.sql.elements import ColumnElement

from matchmaker.db.models import Inquiry, InquiryMessage
from matchmaker.pagination import PageRequest


def get(session: Session, inquiry_id: int, *, lock: bool = False) -> Inquiry | None:
    """An inquiry with its parties and thread; with `lock`, its row is held until the transaction ends
    (PostgreSQL), so two steps taken at once queue and the second sees the first's state."""
    return session.get(
        Inquiry,
        inquiry_id,
        options=[
            # Inner joins: PostgreSQL locks no row on the nullable side of an outer join.
            joinedload(Inquiry.buyer, innerjoin=True),
            joinedload(Inquiry.vendor, innerjoin=True),
            selectinload(Inquiry.messages).joinedload(InquiryMessage.author),
        ],
        with_for_update=lock or None,
        populate_existing=lock,
    )


def list_page(
    session: Session,
    *,
    visibility: ColumnElement[bool],
    status: str | None,
    party: ColumnElement[bool] | None,
    page: PageRequest,
) -> tuple[Sequence[Inquiry], int]:
    """Newest activity first."""
    conditions = [visibility]
    if status is not None:
        conditions.append(Inquiry.status == status)
    if party is not None:
        conditions.append(party)
    total = session.scalar(select(func.count()).select_from(Inquiry).where(*conditions)) or 0
    items = session.scalars(
        select(Inquiry)
        .where(*conditions)
        .options(joinedload(Inquiry.buyer), joinedload(Inquiry.vendor))
        .order_by(Inquiry.updated_at.desc(), Inquiry.id.desc())
        .offset(page.offset)
        .limit(page.per_page)
    ).all()
    return items, total


def add(session: Session, inquiry: Inquiry) -> Inquiry:
    session.add(inquiry)
    session.flush()
    return inquiry
