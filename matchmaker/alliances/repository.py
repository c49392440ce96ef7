"""SQL for alliances and memberships."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, joinedload

from matchmaker.db.models import Alliance, Membership
from matchmaker.db.query import fetch_page, order_by_sort
from matchmaker.pagination import PageRequest

ALLIANCE_SORTS = {"code": Alliance.code, "name": Alliance.name, "created_at": Alliance.created_at}
MEMBERSHIP_SORTS = {"since": Membership.since, "id": Membership.id}


def get_by_code(session: Session, code: str) -> Alliance | None:
    return session.scalar(select(Alliance).where(Alliance.code == code))


def codes(session: Session) -> list[str]:
    return list(session.scalars(select(Alliance.code).order_by(Alliance.code)))


def add(session: Session, alliance: Alliance) -> Alliance:
    session.add(alliance)
    session.flush()
    return alliance


def list_page(session: Session, *, sort: str, page: PageRequest) -> tuple[Sequence[Alliance], int]:
    statement: Select[Alliance] = select(Alliance)
    statement = order_by_sort(statement, sort=sort, columns=ALLIANCE_SORTS, tiebreaker=Alliance.id)
    return fetch_page(session, statement, page)


def get_membership(session: Session, *, alliance_id: int, organisation_id: int) -> Membership | None:
    return session.scalar(
        select(Membership).where(
            Membership.alliance_id == alliance_id, Membership.organisation_id == organisation_id
        )
    )


def add_membership(session: Session, membership: Membership) -> Membership:
    session.add(membership)
    session.flush()
    return membership


def list_memberships(
    session: Session, *, alliance_id: int, status: str | None, sort: str, page: PageRequest
) -> tuple[Sequence[Membership], int]:
    statement = (
        select(Membership)
        .options(joinedload(Membership.organisation))
        .where(Membership.alliance_id == alliance_id)
    )
    if status:
        statement = statement.where(Membership.status == status)
    statement = order_by_sort(statement, sort=sort, columns=MEMBERSHIP_SORTS, tiebreaker=Membership.id)
    return fetch_page(session, statement, page)


def active_alliance_ids(session: Session, organisation_id: int) -> list[int]:
    return sorted(active_alliance_ids_by_organisation(session, [organisation_id])[organisation_id])


def active_alliance_ids_by_organisation(
    session: Session, organisation_ids: Sequence[int]
) -> dict[int, set[int]]:
    """Map each organisation to the ids of the alliances it is an active member of, in one query."""
    found: dict[int, set[int]] = {organisation_id: set() for organisation_id in organisation_ids}
    if not organisation_ids:
        return found
    rows = session.execute(
        select(Membership.organisation_id, Membership.alliance_id).where(
            Membership.organisation_id.in_(set(organisation_ids)), Membership.status == "active"
        )
    )
    for organisation_id, alliance_id in rows:
        found[organisation_id].add(alliance_id)
    return found


def active_memberships(session: Session) -> list[tuple[int, int, str]]:
    """Every active membership as (organisation id, alliance id, alliance code)."""
    rows = session.execute(
        select(Membership.organisation_id, Membership.alliance_id, Alliance.code)
        .join(Alliance, Alliance.id == Membership.alliance_id)
        .where(Membership.status == "active")
    )
    return [(organisation_id, alliance_id, code) for organisation_id, alliance_id, code in rows]


def active_codes_by_organisation(session: Session, organisation_ids: Sequence[int]) -> dict[int, list[str]]:
    """Map each organisation to the codes of the alliances it is an active member of."""
    if not organisation_ids:
        return {}
    rows = session.execute(
        select(Membership.organisation_id, Alliance.code)
        .join(Alliance, Alliance.id == Membership.alliance_id)
        .where(Membership.organisation_id.in_(set(organisation_ids)), Membership.status == "active")
        .order_by(Alliance.code)
    )
    codes: dict[int, list[str]] = {}
    for organisation_id, code in rows:
        codes.setdefault(organisation_id, []).append(code)
    return codes
