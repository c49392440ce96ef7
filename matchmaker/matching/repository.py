"""SQL for matching: the offers a viewer may be matched with, and the open needs a vendor may see."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session, joinedload

from matchmaker.alliances import repository as alliances
from matchmaker.db.models import Need, Offer, Organisation
from matchmaker.matching.eligibility import OfferFacts


@dataclass(frozen=True, slots=True)
class Candidate:
    """An offer that may be shown to the viewer, with what the filters and the explanation need."""

    offer: Offer
    facts: OfferFacts


def _facts(offer: Offer, codes: Sequence[str]) -> OfferFacts:
    return OfferFacts(
        id=offer.id,
        category=offer.category,
        kind=offer.kind,
        region=offer.region,
        pcf_value=offer.pcf_value,
        pcf_unit=offer.pcf_unit,
        pcf_verified=offer.pcf_verified,
        supplier_alliances=frozenset(codes),
        certifications=tuple(offer.certifications or ()),
    )


def visible_published_offers(
    session: Session, *, viewer_organisation_id: int | None, ids: Sequence[int] | None = None
) -> list[Candidate]:
    """Published offers of admitted suppliers that the viewer may see (None: every such offer).

    This is the universe of matching; the hard filters are then applied to it exactly, in Python.
    """
    statement: Select[Offer] = (
        select(Offer)
        .join(Organisation, Organisation.id == Offer.owner_id)
        .options(joinedload(Offer.owner))
        .where(Offer.status == "published", Organisation.admission_status == "admitted")
    )
    if viewer_organisation_id is not None:
        member_of = alliances.active_alliance_ids(session, viewer_organisation_id)
        statement = statement.where(
            or_(
                Offer.visibility == "public",
                Offer.owner_id == viewer_organisation_id,
                and_(Offer.visibility == "alliance", Offer.visibility_alliance_id.in_(member_of)),
            )
        )
    if ids is not None:
        statement = statement.where(Offer.id.in_(list(ids)))
    offers = list(session.scalars(statement.order_by(Offer.id)))
    codes = alliances.active_codes_by_organisation(session, [offer.owner_id for offer in offers])
    return [Candidate(offer=offer, facts=_facts(offer, codes.get(offer.owner_id, []))) for offer in offers]


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


def organisation_alliance_ids(session: Session, organisation_ids: Sequence[int]) -> dict[int, set[int]]:
    """Active alliance ids per organisation (whether a need's buyer may see an alliance-only offer)."""
    return {
        organisation_id: set(alliances.active_alliance_ids(session, organisation_id))
        for organisation_id in set(organisation_ids)
    }
