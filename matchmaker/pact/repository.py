"""SQL of the PACT host: OAuth clients, the offers a client's organisation may pull, and their footprints'
histories."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, aliased, selectinload

from matchmaker.db.models import FootprintVersion, Offer, Organisation, PactClient
from matchmaker.db.query import ID_CHUNK
from matchmaker.offers import visibility as offer_visibility
from matchmaker.pact.lineage import PcfVersion
from matchmaker.visibility import Viewer

# (id, version, updated_at, created_at, owner id, owner name, verified_until)
OfferState = tuple[int, int, datetime, datetime, int, str, datetime | None]
_Statement = Select[*tuple[Any, ...]]  # any columns


def add_client(session: Session, client: PactClient) -> PactClient:
    session.add(client)
    session.flush()
    return client


def get_client(session: Session, row_id: int) -> PactClient | None:
    return session.get(PactClient, row_id)


def get_client_by_client_id(session: Session, client_id: str) -> PactClient | None:
    return session.scalar(select(PactClient).where(PactClient.client_id == client_id))


def _published_with_footprint(statement: _Statement, *, viewer: Viewer) -> _Statement:
    """Only published offers that state a footprint, that matching may rank for the viewer, oldest
    first (a stable order, so pages and repeated calls agree)."""
    return statement.where(offer_visibility.matched_where(viewer), Offer.pcf_value.is_not(None)).order_by(
        Offer.id
    )


def published_offer_states(session: Session, *, viewer: Viewer) -> list[OfferState]:
    """Published offers that state a footprint, that matching may rank for the viewer, oldest first, as
    (id, version, updated_at, created_at, owner_id, owner name, verified_until): what a cached footprint
    is keyed by,
    read without loading (and decoding) the offers themselves."""
    # Aliased: the visibility rule filters on a subquery of organisations, which must not correlate with
    # this join.
    owner = aliased(Organisation)
    statement = select(
        Offer.id, Offer.version, Offer.updated_at, Offer.created_at, Offer.owner_id, owner.name,
        Offer.verified_until,
    ).join(owner, owner.id == Offer.owner_id)  # fmt: skip
    rows = session.execute(_published_with_footprint(statement, viewer=viewer))
    return [(row[0], row[1], row[2], row[3], row[4], row[5], row[6]) for row in rows]


def published_offers_by_id(session: Session, ids: Iterable[int], *, viewer: Viewer) -> dict[int, Offer]:
    """Those of these offers that `published_offer_states` would still select, by id, with their owners."""
    wanted = list(ids)
    found: dict[int, Offer] = {}
    for start in range(0, len(wanted), ID_CHUNK):
        statement = (
            select(Offer)
            .where(Offer.id.in_(wanted[start : start + ID_CHUNK]))
            .options(selectinload(Offer.owner))
        )
        statement = _published_with_footprint(statement, viewer=viewer)
        found.update((offer.id, offer) for offer in session.scalars(statement))
    return found


def published_offer_ids(session: Session, ids: Iterable[int], *, viewer: Viewer) -> set[int]:
    """Those of these offers that `published_offer_states` selects for the viewer."""
    wanted = list(ids)
    found: set[int] = set()
    for start in range(0, len(wanted), ID_CHUNK):
        statement = select(Offer.id).where(Offer.id.in_(wanted[start : start + ID_CHUNK]))
        statement = _published_with_footprint(statement, viewer=viewer)
        found.update(session.scalars(statement))
    return found


def footprint_histories(session: Session, offer_ids: Iterable[int]) -> dict[int, list[PcfVersion]]:
    """Every recorded version of these offers' footprints, oldest first, by offer id (one query per
    `ID_CHUNK` offers; an offer without any is left out)."""
    wanted = list(offer_ids)
    found: dict[int, list[PcfVersion]] = {}
    for start in range(0, len(wanted), ID_CHUNK):
        statement = (
            select(
                FootprintVersion.offer_id, FootprintVersion.version, FootprintVersion.pcf_value,
                FootprintVersion.pcf_unit, FootprintVersion.pcf_verified, FootprintVersion.verified_until,
                FootprintVersion.verified_by, FootprintVersion.status, FootprintVersion.recorded_at,
            )
            .where(FootprintVersion.offer_id.in_(wanted[start : start + ID_CHUNK]))
            .order_by(FootprintVersion.offer_id, FootprintVersion.version)
        )  # fmt: skip
        for row in session.execute(statement):
            found.setdefault(row[0], []).append(
                PcfVersion(
                    version=row[1],
                    pcf_value=row[2],
                    pcf_unit=row[3],
                    pcf_verified=row[4],
                    verified_until=row[5],
                    verified_by=row[6],
                    status=row[7],
                    recorded_at=row[8],
                )
            )
    return found


def is_visible(session: Session, offer_id: int, *, viewer: Viewer) -> bool:
    statement = select(Offer.id).where(Offer.id == offer_id, offer_visibility.matched_where(viewer))
    return session.scalar(statement) is not None


def clients_with_callbacks(session: Session) -> Sequence[PactClient]:
    """Clients not revoked that have a callback URL, with their organisations."""
    return session.scalars(
        select(PactClient)
        .where(PactClient.revoked_at.is_(None), PactClient.callback_url.is_not(None))
        .options(selectinload(PactClient.organisation))
        .order_by(PactClient.id)
    ).all()


def clients_of(session: Session, organisation_id: int) -> Sequence[PactClient]:
    return session.scalars(
        select(PactClient).where(PactClient.organisation_id == organisation_id).order_by(PactClient.id)
    ).all()
