"""Feedback on matches: a buyer marks one relevant, not relevant (it leaves the need's list until the mark
is taken back: `matching.service.match_need`) or contracted. Who may give it and see it is who may change
and see the need's shortlist (`shortlists.service`)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from matchmaker.auth import Principal
from matchmaker.db.models import MatchFeedback, Need
from matchmaker.errors import NotFound
from matchmaker.feedback import repository
from matchmaker.feedback.schemas import FeedbackRead, Verdict
from matchmaker.matching import service as matching
from matchmaker.matching.engine import Engine
from matchmaker.offers import repository as offer_repository
from matchmaker.offers import visibility as offer_visibility
from matchmaker.parties import service as party_service
from matchmaker.shortlists import service as shortlists

# How far down a need's matches an offer's place is looked for when a verdict is given.
RANKS_LOOKED_AT = 100


def give(
    *, session: Session, engine: Engine, principal: Principal, need_id: int, offer_id: int, verdict: Verdict
) -> tuple[MatchFeedback, bool]:
    """Record (or change) the verdict on an offer for a need; True if it is the first."""
    need = shortlists.need_to_change(session=session, principal=principal, need_id=need_id)
    offer = offer_repository.get(session, offer_id)
    buyer = party_service.viewer_for(session=session, organisation_id=need.owner_id, role="buyer")
    if offer is None or not offer_visibility.can_see(buyer, offer):
        raise NotFound(f"offer {offer_id} not found")
    entry = repository.get(session, need_id=need.id, offer_id=offer.id)
    if entry is not None:  # a changed verdict keeps the place the offer had when it was first judged
        entry.verdict = verdict
        session.flush()
        return entry, False
    # Not in a matching slot: this transaction holds its need's row (and SQLite's write lock), which must
    # not wait for other requests' rankings.
    listed = matching.match_need(
        session=session, engine=engine, principal=principal, need_id=need.id,
        refinement=matching.Refinement(), limit=RANKS_LOOKED_AT,
    )  # fmt: skip
    rank = next((m.rank for m in listed.matches if m.offer.id == offer.id), None)
    entry = MatchFeedback(need_id=need.id, offer_id=offer.id, verdict=verdict, rank=rank)
    session.add(entry)
    session.flush()
    return entry, True


def take_back(*, session: Session, principal: Principal, need_id: int, offer_id: int) -> None:
    """Remove the verdict (an offer marked not relevant comes back to the list)."""
    need = shortlists.need_to_change(session=session, principal=principal, need_id=need_id)
    entry = repository.get(session, need_id=need.id, offer_id=offer_id)
    if entry is None:
        raise NotFound(f"no feedback on offer {offer_id} for need {need_id}")
    session.delete(entry)
    session.flush()


def of_need(*, session: Session, principal: Principal, need_id: int) -> list[FeedbackRead]:
    """The verdicts on a need's matches, for who may see them (404 for anyone else)."""
    need = shortlists.get_need(session=session, principal=principal, need_id=need_id)
    return given_on(session=session, need=need)


def given_on(*, session: Session, need: Need) -> list[FeedbackRead]:
    """The verdicts on a need's matches, newest first (the caller has checked who may see them)."""
    return [to_read(entry) for entry in repository.of_need(session, need.id)]


def to_read(entry: MatchFeedback) -> FeedbackRead:
    return FeedbackRead(
        need_id=entry.need_id,
        offer_id=entry.offer_id,
        offer_title=entry.offer.title,
        verdict=entry.verdict,
        rank=entry.rank,
        updated_at=entry.updated_at,
    )
