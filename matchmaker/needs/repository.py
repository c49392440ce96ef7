"""SQL for needs (who may see which is `needs.visibility`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.sql.elements import ColumnElement

from matchmaker.db.models import Need
from matchmaker.db.query import fetch_page, lock_versioned, order_by_sort
from matchmaker.pagination import PageRequest

NEED_SORTS = {"created_at": Need.created_at, "updated_at": Need.updated_at, "id": Need.id}


@dataclass(frozen=True, slots=True)
class NeedFilters:
    category: str | None = None
    status: str | None = None
    region: str | None = None
    owner_id: int | None = None


def get(session: Session, need_id: int) -> Need | None:
    return session.get(Need, need_id, options=[joinedload(Need.owner), joinedload(Need.alliance_only)])


lock = lock_versioned  # hold the need's row while it is changed


def get_by_external_id(session: Session, *, owner_id: int, external_id: str) -> Need | None:
    return session.scalar(select(Need).where(Need.owner_id == owner_id, Need.external_id == external_id))


def add(session: Session, need: Need) -> Need:
    session.add(need)
    session.flush()
    return need


def delete(session: Session, need: Need) -> None:
    session.delete(need)
    session.flush()


def list_page(
    session: Session, *, visibility: ColumnElement[bool], filters: NeedFilters, sort: str, page: PageRequest
) -> tuple[Sequence[Need], int]:
    statement: Select[Need] = (
        select(Need).options(joinedload(Need.owner), joinedload(Need.alliance_only)).where(visibility)
    )
    if filters.category:
        statement = statement.where(Need.category == filters.category)
    if filters.status:
        statement = statement.where(Need.status == filters.status)
    if filters.region:
        statement = statement.where(Need.region_preference == filters.region)
    if filters.owner_id is not None:
        statement = statement.where(Need.owner_id == filters.owner_id)
    statement = order_by_sort(statement, sort=sort, columns=NEED_SORTS, tiebreaker=Need.id)
    return fetch_page(session, statement, page)


def open_needs_of(session: Session, owner_id: int, *, limit: int = 200) -> Sequence[Need]:
    """An organisation's open needs, newest first (a buyer choosing which need an inquiry is for)."""
    return session.scalars(
        select(Need)
        .where(Need.owner_id == owner_id, Need.status == "open")
        .order_by(Need.created_at.desc(), Need.id.desc())
        .limit(limit)
    ).all()


def overdue(session: Session, *, today: date) -> Sequence[Need]:
    """Open needs whose last day for offers is before `today`."""
    return session.scalars(
        select(Need).where(Need.status == "open", Need.respond_by.is_not(None), Need.respond_by < today)
    ).all()
