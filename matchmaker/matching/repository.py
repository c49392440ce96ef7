"""SQL for matching: the offers a viewer may be matched with, and the open needs a vendor may see."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.sql.elements import ColumnElement

from matchmaker.alliances import repository as alliances
from matchmaker.db.models import MatchFeedback, Need, Offer
from matchmaker.matching.eligibility import OfferFacts
from matchmaker.offers import visibility as offer_visibility
from matchmaker.visibility import Viewer


def visible_offer_facts(
    session: Session, *, viewer: Viewer, ids: Sequence[int] | None = None
) -> list[OfferFacts]:
    """What the filters need of every offer matching may rank for the viewer (`offers.visibility.MATCHED`).
    This is the universe of matching; the filters then apply exactly, in Python.

    Columns, not ORM objects: a match request reads every candidate, and shows only a page of them.
    """
    statement = select(
        Offer.id,
        Offer.owner_id,
        Offer.category,
        Offer.kind,
        Offer.region,
        Offer.pcf_value,
        Offer.pcf_unit,
        Offer.pcf_verified,
        Offer.verified_until,
        Offer.verification_party,
        Offer.primary_data_share,
        Offer.footprint_valid_until,
        Offer.certifications,
    ).where(offer_visibility.matched_where(viewer))
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
            verified_until=row.verified_until,
            verification_party=row.verification_party,
            primary_data_share=row.primary_data_share,
            footprint_valid_until=row.footprint_valid_until,
        )
        for row in rows
    ]


def offers_by_id(session: Session, ids: Sequence[int]) -> dict[int, Offer]:
    """The offers to show (a page of matches and near misses), with their suppliers."""
    if not ids:
        return {}
    # Read afresh even when the session holds them: their versions are compared with the offer table's.
    statement = select(Offer).options(joinedload(Offer.owner)).where(Offer.id.in_(list(ids)))
    offers = session.scalars(statement.execution_options(populate_existing=True))
    return {offer.id: offer for offer in offers}


def offer_versions(session: Session, ids: Sequence[int]) -> dict[int, int]:
    """The versions of these offers the database holds now (those it still holds)."""
    if not ids:
        return {}
    rows = session.execute(select(Offer.id, Offer.version).where(Offer.id.in_(list(ids))))
    return {identifier: version for identifier, version in rows}


def open_needs(session: Session, *, visible: ColumnElement[bool]) -> list[Need]:
    """Open needs that the visibility predicate selects (`needs.visibility`), with their owners."""
    statement = (
        select(Need)
        .options(joinedload(Need.owner), joinedload(Need.alliance_only))
        .where(Need.status == "open", visible)
    )
    return list(session.scalars(statement.order_by(Need.id)))


def dismissed_offer_ids(session: Session, need_id: int) -> set[int]:
    """The offers the need's buyer marked not relevant: they leave its list until the mark is taken back."""
    return set(
        session.scalars(
            select(MatchFeedback.offer_id).where(
                MatchFeedback.need_id == need_id, MatchFeedback.verdict == "not_relevant"
            )
        )
    )


def needs_dismissing(session: Session, offer_id: int) -> set[int]:
    """The needs whose buyers marked this offer not relevant."""
    return set(
        session.scalars(
            select(MatchFeedback.need_id).where(
                MatchFeedback.offer_id == offer_id, MatchFeedback.verdict == "not_relevant"
            )
        )
    )
