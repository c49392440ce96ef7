"""Shortlists: the offers a buyer keeps for a need, with notes, compared in the need's unit.

Who may see a need's shortlist is who may see its matches (`matching.visibility`): its buyer and the
operator; anyone else is told 404, as for a need that does not exist. Only the buyer's keys change it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from matchmaker.alliances import repository as alliance_repository
from matchmaker.auth import Principal
from matchmaker.db.models import Need, Offer, ShortlistEntry
from matchmaker.db.query import lock_versioned
from matchmaker.errors import Conflict, Forbidden, NotFound
from matchmaker.matching import service as matching
from matchmaker.matching.engine import Engine
from matchmaker.matching.explain import offer_brief
from matchmaker.offers import repository as offer_repository
from matchmaker.offers import visibility as offer_visibility
from matchmaker.parties import service as party_service
from matchmaker.shortlists import export, repository
from matchmaker.shortlists.schemas import ComparedFootprint, Shortlist, ShortlistItem
from matchmaker.spreadsheets import DownloadFile
from matchmaker.units import Footprint, FootprintUnit, UnitError, parse_unit

# A shortlist is for a purchasing committee to read: past this it is a second catalogue, not a shortlist.
MAX_ENTRIES = 200
# The matches a shortlisted offer's score is looked up in (the most a match list shows).
SCORED_MATCHES = 100


def get_need(*, session: Session, principal: Principal, need_id: int) -> Need:
    """The need whose shortlist the caller may see (who may see its matches), or 404."""
    viewer = party_service.viewer_of(session=session, principal=principal)
    return matching.need_of_matches(session=session, viewer=viewer, need_id=need_id)


def is_its_buyer(principal: Principal, need: Need) -> bool:
    """Whether the caller is the need's buyer, acting as one: the pages offer it the shortlist and feedback
    buttons (the operator may use the API's)."""
    return principal.role == "buyer" and need.owner_id == principal.organisation_id


def need_to_change(*, session: Session, principal: Principal, need_id: int) -> Need:
    """The need whose shortlist (or feedback) the caller may change: its buyer's keys and the operator;
    its row held until the transaction ends, so two writers queue (PostgreSQL)."""
    need = get_need(session=session, principal=principal, need_id=need_id)
    if not (principal.is_operator or principal.role == "buyer"):
        raise Forbidden("only the buyer's keys and the operator may change what follows a need's matches")
    if not lock_versioned(session, need):
        raise NotFound(f"need {need_id} not found")
    return need


def keep(
    *, session: Session, principal: Principal, need_id: int, offer_id: int, note: str
) -> tuple[ShortlistEntry, bool]:
    """Put an offer the need's buyer may see on the need's shortlist, or replace its note; True if new."""
    need = need_to_change(session=session, principal=principal, need_id=need_id)
    offer = offer_repository.get(session, offer_id)
    buyer = party_service.viewer_for(session=session, organisation_id=need.owner_id, role="buyer")
    if offer is None or not offer_visibility.can_see(buyer, offer):
        raise NotFound(f"offer {offer_id} not found")
    entry = repository.get(session, need_id=need.id, offer_id=offer.id)
    if entry is not None:
        entry.note = note
        return entry, False
    if len(repository.shortlisted_offer_ids(session, need.id)) >= MAX_ENTRIES:
        raise Conflict(f"a shortlist holds at most {MAX_ENTRIES} offers: remove one first")
    entry = ShortlistEntry(need_id=need.id, offer_id=offer.id, note=note)
    session.add(entry)
    session.flush()
    return entry, True


def drop(*, session: Session, principal: Principal, need_id: int, offer_id: int) -> None:
    """Take an offer off the need's shortlist (404 if it is not on it)."""
    need = need_to_change(session=session, principal=principal, need_id=need_id)
    entry = repository.get(session, need_id=need.id, offer_id=offer_id)
    if entry is None:
        raise NotFound(f"offer {offer_id} is not on the shortlist of need {need_id}")
    session.delete(entry)
    session.flush()


def shortlisted_ids(*, session: Session, need: Need) -> set[int]:
    return repository.shortlisted_offer_ids(session, need.id)


def shortlist(
    *, session: Session, engine: Engine, principal: Principal, need: Need, offer_ids: Sequence[int] = ()
) -> Shortlist:
    """The need's shortlist (only `offer_ids` of it, in that order, when given), each footprint in one
    unit against the ceiling and each offer's match score now."""
    buyer = party_service.viewer_for(session=session, organisation_id=need.owner_id, role="buyer")
    # An offer that went out of the buyer's sight (a draft again, alliance-only, its supplier suspended)
    # stays on the list but is not shown, nor its footprint, until it is visible again.
    entries = [e for e in repository.entries_of(session, need.id) if offer_visibility.can_see(buyer, e.offer)]
    if offer_ids:
        by_offer = {entry.offer_id: entry for entry in entries}
        entries = [by_offer[i] for i in dict.fromkeys(offer_ids) if i in by_offer]
    scale = ComparisonScale.for_need(need, [entry.offer for entry in entries])
    scores = _match_scores(session=session, engine=engine, principal=principal, need=need) if entries else {}
    alliances = alliance_repository.active_codes_by_organisation(
        session, [entry.offer.owner_id for entry in entries]
    )
    items = [
        ShortlistItem(
            offer=offer_brief(entry.offer, alliances.get(entry.offer.owner_id, [])),
            note=entry.note,
            added_at=entry.created_at,
            footprint=scale.compare(entry.offer),
            match_score=scores.get(entry.offer_id, (None, None))[1],
            rank=scores.get(entry.offer_id, (None, None))[0],
        )
        for entry in entries
    ]
    return Shortlist(need_id=need.id, unit=scale.unit_text, ceiling=scale.ceiling_value, items=items)


def shortlist_download(
    *, session: Session, engine: Engine, principal: Principal, need_id: int, fmt: export.ExportFormat,
    language: export.ExportLanguage,
) -> DownloadFile:  # fmt: skip
    """The need's shortlist as a file for its buyer or the operator (the API's and the page's download)."""
    need = get_need(session=session, principal=principal, need_id=need_id)
    items = shortlist(session=session, engine=engine, principal=principal, need=need)
    return export.shortlist_file(
        items, need_id=need.id, title=need.text[:200], fmt=fmt, language=language, now=datetime.now(UTC)
    )


def _match_scores(
    *, session: Session, engine: Engine, principal: Principal, need: Need
) -> dict[int, tuple[int, int]]:
    """Each matched offer's (rank, 0-100 score) in the need's matches now, as its buyer sees them."""
    with engine.matching_slots:
        matches = matching.match_need(
            session=session,
            engine=engine,
            principal=principal,
            need_id=need.id,
            refinement=matching.Refinement(),
            limit=SCORED_MATCHES,
        )
    return {match.offer.id: (match.rank, match.match_score) for match in matches.matches}


@dataclass(frozen=True, slots=True)
class ComparisonScale:
    """The one unit a comparison draws every footprint in: the need's ceiling's unit when it has one (so
    each bar stands against the ceiling), else the first stated footprint's. A footprint of another unit
    family is shown as stated, not converted."""

    unit: FootprintUnit | None
    ceiling: Decimal | None

    @classmethod
    def for_need(cls, need: Need, offers: Sequence[Offer]) -> ComparisonScale:
        if need.max_pcf is not None and need.max_pcf_unit:
            return cls(unit=parse_unit(need.max_pcf_unit), ceiling=Decimal(repr(need.max_pcf)))
        stated = next((o.pcf_unit for o in offers if o.pcf_value is not None and o.pcf_unit), None)
        return cls(unit=parse_unit(stated) if stated else None, ceiling=None)

    @property
    def unit_text(self) -> str | None:
        return str(self.unit) if self.unit else None

    @property
    def ceiling_value(self) -> float | None:
        return float(self.ceiling) if self.ceiling is not None else None

    def compare(self, offer: Offer) -> ComparedFootprint:
        value: Decimal | None = None
        if offer.pcf_value is not None and offer.pcf_unit and self.unit is not None:
            try:
                value = Footprint.parse(offer.pcf_value, offer.pcf_unit).convert(self.unit)
            except UnitError:
                value = None  # another unit family: shown as stated
        headroom = self.ceiling - value if value is not None and self.ceiling is not None else None
        return ComparedFootprint(
            stated_value=offer.pcf_value,
            stated_unit=offer.pcf_unit,
            value=float(value) if value is not None else None,
            unit=self.unit_text,
            ceiling=self.ceiling_value,
            headroom=float(headroom) if headroom is not None else None,
            headroom_percent=(
                round(float(headroom / self.ceiling) * 100, 1)
                if headroom is not None and self.ceiling
                else None
            ),
        )
