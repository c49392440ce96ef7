"""SQL for organisations and API keys."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, joinedload, selectinload

from matchmaker.db.models import ApiKey, Membership, Organisation
from matchmaker.db.query import fetch_page, order_by_sort
from matchmaker.pagination import PageRequest
from matchmaker.regions import covered_by

ORGANISATION_SORTS = {
    "name": Organisation.name,
    "created_at": Organisation.created_at,
    "updated_at": Organisation.updated_at,
    "id": Organisation.id,
}


def get(session: Session, organisation_id: int) -> Organisation | None:
    return session.get(Organisation, organisation_id)


def get_by_name(session: Session, name: str) -> Organisation | None:
    return session.scalar(select(Organisation).where(Organisation.name == name))


def get_by_credit_code(session: Session, credit_code: str) -> Organisation | None:
    return session.scalar(select(Organisation).where(Organisation.credit_code == credit_code))


def add(session: Session, organisation: Organisation) -> Organisation:
    session.add(organisation)
    session.flush()
    return organisation


def list_page(
    session: Session,
    *,
    only_id: int | None,
    kind: str | None,
    admission_status: str | None,
    region: str | None,
    sort: str,
    page: PageRequest,
    name_contains: str | None = None,
    kinds: Collection[str] = (),
    not_member_of: int | None = None,
) -> tuple[Sequence[Organisation], int]:
    # Their licences with them, in one more query (the API's list shows each one's).
    statement: Select[Organisation] = select(Organisation).options(selectinload(Organisation.licence))
    if name_contains:  # Latin names in any case (Chinese has none); % and _ are matched as themselves
        lowered = func.lower(Organisation.name)
        statement = statement.where(lowered.contains(name_contains.lower(), autoescape=True))
    if kinds:
        statement = statement.where(Organisation.kind.in_(list(kinds)))
    if not_member_of is not None:
        members = select(Membership.organisation_id).where(Membership.alliance_id == not_member_of)
        statement = statement.where(Organisation.id.not_in(members))
    if only_id is not None:
        statement = statement.where(Organisation.id == only_id)
    if kind:
        statement = statement.where(Organisation.kind == kind)
    if admission_status:
        statement = statement.where(Organisation.admission_status == admission_status)
    if region:
        statement = statement.where(Organisation.region.in_(covered_by(region)))
    statement = order_by_sort(statement, sort=sort, columns=ORGANISATION_SORTS, tiebreaker=Organisation.id)
    return fetch_page(session, statement, page)


def of_kinds(session: Session, kinds: Collection[str]) -> Sequence[Organisation]:
    """Organisations of these kinds, by name."""
    return session.scalars(
        select(Organisation).where(Organisation.kind.in_(list(kinds))).order_by(Organisation.name)
    ).all()


def get_key_by_prefix(session: Session, prefix: str) -> ApiKey | None:
    """The key, with its organisation (every request that presents it asks whether it is suspended)."""
    return session.scalar(
        select(ApiKey).options(joinedload(ApiKey.organisation)).where(ApiKey.prefix == prefix)
    )


def get_key(session: Session, key_id: int) -> ApiKey | None:
    return session.get(ApiKey, key_id)


def list_keys(session: Session, organisation_id: int) -> Sequence[ApiKey]:
    return session.scalars(
        select(ApiKey).where(ApiKey.organisation_id == organisation_id).order_by(ApiKey.id)
    ).all()


def add_key(session: Session, key: ApiKey) -> ApiKey:
    session.add(key)
    session.flush()
    return key
