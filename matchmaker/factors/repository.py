"""The factor libraries loaded into the database, and their factors."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from matchmaker.db.models import EmissionFactor, FactorLibrary
from matchmaker.pagination import PageRequest


def library(session: Session, version: str) -> FactorLibrary | None:
    return session.get(FactorLibrary, version)


def latest_version(session: Session) -> str | None:
    return session.scalar(select(func.max(FactorLibrary.version)))


def libraries(session: Session) -> Sequence[FactorLibrary]:
    return session.scalars(select(FactorLibrary).order_by(FactorLibrary.version)).all()


def add(session: Session, loaded: FactorLibrary, factors: Sequence[EmissionFactor]) -> None:
    session.add(loaded)
    session.flush()  # the library's row first: its factors refer to it
    session.add_all(factors)
    session.flush()


def factors_page(
    session: Session,
    *,
    version: str,
    kind: str | None,
    region: str | None,
    year: int | None,
    page: PageRequest,
) -> tuple[Sequence[EmissionFactor], int]:
    statement = select(EmissionFactor).where(EmissionFactor.library_version == version)
    for column, wanted in (
        (EmissionFactor.kind, kind),
        (EmissionFactor.region, region),
        (EmissionFactor.year, year),
    ):
        if wanted is not None:
            statement = statement.where(column == wanted)
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    rows = session.scalars(
        statement.order_by(EmissionFactor.key).offset(page.offset).limit(page.per_page)
    ).all()
    return rows, total
