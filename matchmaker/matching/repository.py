"""SQL for matching: the offers a viewer may be matched with, and the open needs a vendor may see."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, joinedload

from matchmaker.alliances import repository as alliances
from matchmaker.db.models import Need, Offer, Organisation
from matchmaker.matching.eligibility import OfferFacts
from matchmaker.offers.repository import shared_with


def visible_offer_facts(
    session: Session, *, viewer_organisation_id: int | None, ids: Sequence[int] | None = None
) -> list[OfferFacts]:
    """What the filters need of every published offer of an admitted supplier that the viewer may see
    (None: every such offer). This is the universe of matching; the filters then apply exactly, in Python.

    Columns, not ORM objects: a match request reads every candidate, and shows only a page of them.
    """
    statement = (
        select(
            Offer.id,
            Offer.owner_id,
            Offer.category,
            Offer.kind,
            Offer.region,
            Offer.pcf_value,
            Offer.pcf_unit,
            Offer.pcf_verified,
            Offer.certifications,
        )
        .join(Organisation, Organisation.id == Offer.owner_id)
        .where(Offer.status == "published", Organisation.admission_status == "admitted")
    )
    if viewer_organisation_id is not None:
        member_of = alliances.active_alliance_ids(session, viewer_organisation_id)
        statement = statement.where(or_(Offer.owner_id == viewer_organisation_id, shared_with(member_of)))
    if ids is not None:
        statement = statement.where(Offer.id.in_(list(ids)))
    rows = session.execute(statement.order_by(Offer.id)).all()
    codes = alliances.active_codes_by_organisation(session, list({row.owner_id for row in rows}))
    memberships = {owner: frozenset(owned) for owner, owned in codes.items()}  # one set per supplier
    return [
        OfferFacts(
            id=row.id,
            category=row.category,
            kind=row.kind,
            region=row.region,
            pcf_value=row.pcf_value,
            pcf_unit=row.pcf_unit,
            pcf_verified=row.pcf_verified,
            supplier_alliances=memberships.get(row.owner_id, frozenset()),
            certifications=tuple(row.certifications or ()),
        )
        for row in rows
    ]


def offers_by_id(session: Session, ids: Sequence[int]) -> dict[int, Offer]:
    """The offers to show (a page of matches and near misses), with their suppliers."""
    if not ids:
        return {}
    offers = session.scalars(select(Offer).options(joinedload(Offer.owner)).where(Offer.id.in_(list(ids))))
    return {offer.id: offer for offer in offers}


def open_needs_for_vendor(session: Session, *, vendor_organisation_id: int | None) -> list[Need]:
    """Open needs a vendor may see (shared with vendors, or its own organisation's); None: all open needs."""
    statement = (
        select(Need)
        .options(joinedload(Need.owner), joinedload(Need.alliance_only))
        .where(Need.status == "open")
    )
    if vendor_organisation_id is not None:
        statement = statement.where(
            or_(Need.visibility == "vendors", Need.owner_id == vendor_organisation_id)
        )
    return list(session.scalars(statement.order_by(Need.id)))
