"""SQL for offers (who may see which is `offers.visibility`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, or_, select, true
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.sql.elements import ColumnElement

from matchmaker.db.base import utcnow
from matchmaker.db.models import Alliance, FootprintVersion, Membership, Offer
from matchmaker.db.query import fetch_page, lock_versioned, order_by_sort
from matchmaker.pagination import PageRequest
from matchmaker.regions import covered_by

OFFER_SORTS = {
    "created_at": Offer.created_at,
    "updated_at": Offer.updated_at,
    "title": Offer.title,
    "pcf": Offer.pcf_canonical,
    "id": Offer.id,
}


@dataclass(frozen=True, slots=True)
class OfferFilters:
    category: str | None = None
    kind: str | None = None
    region: str | None = None
    alliance: str | None = None
    verified: bool | None = None
    status: str | None = None
    owner_id: int | None = None


def by_ids(session: Session, offer_ids: Sequence[int]) -> Sequence[Offer]:
    return session.scalars(
        select(Offer)
        .where(Offer.id.in_(offer_ids))
        .options(joinedload(Offer.owner), joinedload(Offer.visibility_alliance))
    ).all()


def get(session: Session, offer_id: int) -> Offer | None:
    return session.get(
        Offer, offer_id, options=[joinedload(Offer.owner), joinedload(Offer.visibility_alliance)]
    )


lock = lock_versioned  # hold the offer's row while it is changed


def get_by_external_id(session: Session, *, owner_id: int, external_id: str) -> Offer | None:
    return session.scalar(select(Offer).where(Offer.owner_id == owner_id, Offer.external_id == external_id))


def by_external_ids(session: Session, keys: Iterable[tuple[int, str]]) -> dict[tuple[int, str], Offer]:
    """The offers with these (owner id, external id) pairs, in one query per thousand pairs."""
    wanted = set(keys)
    found: dict[tuple[int, str], Offer] = {}
    pairs = sorted(wanted)
    for start in range(0, len(pairs), 1000):  # well under every database's limit of bound parameters
        chunk = pairs[start : start + 1000]
        statement = select(Offer).where(
            Offer.owner_id.in_({owner for owner, _ in chunk}),
            Offer.external_id.in_({external for _, external in chunk}),
        )
        for offer in session.scalars(statement):
            if (offer.owner_id, offer.external_id) in wanted:
                found[(offer.owner_id, offer.external_id)] = offer
    return found


def add(session: Session, offer: Offer) -> Offer:
    session.add(offer)
    session.flush()
    return offer


def delete(session: Session, offer: Offer) -> None:
    session.delete(offer)
    session.flush()


def verified_now() -> ColumnElement[bool]:
    """`verification.holds` in SQL: verified, and not past its end."""
    return and_(
        Offer.pcf_verified.is_(True),
        Offer.pcf_value.is_not(None),
        or_(Offer.verified_until.is_(None), Offer.verified_until > utcnow()),
    )


def footprint_versions(
    session: Session, offer_id: int, *, limit: int, published_only: bool
) -> Sequence[FootprintVersion]:
    """The offer's footprint as it stood from each change on, newest first, with who changed it."""
    statement = (
        select(FootprintVersion)
        .where(FootprintVersion.offer_id == offer_id)
        .where(FootprintVersion.status == "published" if published_only else true())
        .options(joinedload(FootprintVersion.changed_by))
        .order_by(FootprintVersion.version.desc())
        .limit(limit)
    )
    return session.scalars(statement).all()


def verification_ending_between(session: Session, *, start: datetime, end: datetime) -> Sequence[Offer]:
    """Published offers whose verification holds at `start` and ends by `end`."""
    statement = select(Offer).where(
        Offer.status == "published",
        Offer.pcf_verified.is_(True),
        Offer.verified_until > start,
        Offer.verified_until <= end,
    )
    return session.scalars(statement.order_by(Offer.id)).all()


def validity_ending_between(session: Session, *, start: datetime, end: datetime) -> Sequence[Offer]:
    """Published offers whose footprint is valid at `start` and stops being so by `end`, but those whose
    verification ends at the same instant (warned of as a verification ending)."""
    statement = select(Offer).where(
        Offer.status == "published",
        Offer.pcf_value.is_not(None),
        Offer.footprint_valid_until > start,
        Offer.footprint_valid_until <= end,
        or_(
            Offer.pcf_verified.is_(False),
            Offer.verified_until.is_(None),
            Offer.verified_until != Offer.footprint_valid_until,
        ),
    )
    return session.scalars(statement.order_by(Offer.id)).all()


def list_page(
    session: Session,
    *,
    visibility: ColumnElement[bool],
    filters: OfferFilters,
    sort: str,
    page: PageRequest,
) -> tuple[Sequence[Offer], int]:
    statement: Select[Offer] = (
        select(Offer)
        .options(joinedload(Offer.owner), joinedload(Offer.visibility_alliance))
        .where(visibility)
    )
    if filters.category:
        statement = statement.where(Offer.category == filters.category)
    if filters.kind:
        statement = statement.where(Offer.kind == filters.kind)
    if filters.region:
        statement = statement.where(Offer.region.in_(covered_by(filters.region)))
    if filters.verified is not None:
        statement = statement.where(verified_now() if filters.verified else ~verified_now())
    if filters.status:
        statement = statement.where(Offer.status == filters.status)
    if filters.owner_id is not None:
        statement = statement.where(Offer.owner_id == filters.owner_id)
    if filters.alliance:
        members = (
            select(Membership.organisation_id)
            .join(Alliance, Alliance.id == Membership.alliance_id)
            .where(Alliance.code == filters.alliance, Membership.status == "active")
        )
        statement = statement.where(Offer.owner_id.in_(members))
    statement = order_by_sort(statement, sort=sort, columns=OFFER_SORTS, tiebreaker=Offer.id)
    return fetch_page(session, statement, page)
