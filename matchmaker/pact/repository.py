"""SQL of the PACT host: OAuth clients, and the offers a client's organisation may pull."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from matchmaker.auth import Principal
from matchmaker.db.models import Offer, PactClient
from matchmaker.offers import repository as offers


def add_client(session: Session, client: PactClient) -> PactClient:
    session.add(client)
    session.flush()
    return client


def get_client(session: Session, row_id: int) -> PactClient | None:
    return session.get(PactClient, row_id)


def get_client_by_client_id(session: Session, client_id: str) -> PactClient | None:
    return session.scalar(select(PactClient).where(PactClient.client_id == client_id))


def published_offers_with_footprint(
    session: Session, *, viewer: Principal | None, member_alliance_ids: Sequence[int]
) -> Sequence[Offer]:
    """Published offers that state a footprint, visible to the viewer (None: all of them), oldest first
    (a stable order, so pages and repeated calls agree)."""
    statement = (
        select(Offer)
        .where(Offer.status == "published", Offer.pcf_value.is_not(None))
        .options(selectinload(Offer.owner))
        .order_by(Offer.id)
    )
    if viewer is not None:
        statement = statement.where(offers.visible_to(viewer, member_alliance_ids))
    return session.scalars(statement).all()


def is_visible(
    session: Session, offer_id: int, *, viewer: Principal, member_alliance_ids: Sequence[int]
) -> bool:
    statement = select(Offer.id).where(Offer.id == offer_id, offers.visible_to(viewer, member_alliance_ids))
    return session.scalar(statement) is not None


def clients_of(session: Session, organisation_id: int) -> Sequence[PactClient]:
    return session.scalars(
        select(PactClient).where(PactClient.organisation_id == organisation_id).order_by(PactClient.id)
    ).all()
