"""Shared query helpers: sorting by a whitelisted field, counting a page, locking a versioned row."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from matchmaker.db.models import Need, Offer
from matchmaker.errors import ValidationFailed
from matchmaker.pagination import PageRequest

T = TypeVar("T")
# Ids per `IN (...)` list: SQLite allows 32,766 parameters in one statement, older versions 999.
ID_CHUNK = 500


def order_by_sort(
    statement: Select[T],
    *,
    sort: str,
    columns: Mapping[str, ColumnElement[Any] | Any],
    tiebreaker: Any,
) -> Select[T]:
    """Apply `sort` ("field" or "-field" for descending), refusing fields not in `columns`."""
    descending = sort.startswith("-")
    name = sort.removeprefix("-")
    if name not in columns:
        raise ValidationFailed(
            f"cannot sort by {name!r}",
            errors=[
                {
                    "field": "sort",
                    "message": f"use one of: {', '.join(sorted(columns))} (prefix - for descending)",
                }
            ],
        )
    column = columns[name]
    ordered = column.desc() if descending else column.asc()
    return statement.order_by(ordered, tiebreaker.desc() if descending else tiebreaker.asc())


def fetch_page(session: Session, statement: Select[T], request: PageRequest) -> tuple[Sequence[T], int]:
    """Return one page of `statement`'s rows and the total number of rows."""
    total = session.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0
    rows = session.scalars(statement.limit(request.per_page).offset(request.offset)).all()
    return rows, total


def lock_versioned(session: Session, row: Offer | Need) -> bool:
    """Hold a versioned row until the transaction ends (PostgreSQL), so concurrent changes queue; reload
    it when one committed since it was read. False when that change deleted it."""
    model = type(row)
    version = session.scalar(select(model.version).where(model.id == row.id).with_for_update())
    if version is None:
        return False
    if version != row.version:
        session.refresh(row)
    return True
