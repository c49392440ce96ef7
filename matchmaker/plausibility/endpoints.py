"""HTTP endpoints of the plausibility review: the operator's queue of held offers and its decision."""

from __future__ import annotations

from fastapi import APIRouter

from matchmaker.deps import OperatorDep, SessionDep
from matchmaker.errors import problem_responses
from matchmaker.offers import service as offer_service
from matchmaker.plausibility import service
from matchmaker.plausibility.schemas import HeldOffer, PlausibilityDecision
from matchmaker.routing import CheckedRoute
from matchmaker.schema_types import PathId

router = APIRouter(
    route_class=CheckedRoute,
    tags=["plausibility review"],
    responses=problem_responses(401, 403, 404, 409, 422),
)


@router.get("/plausibility/held", response_model=list[HeldOffer])
def held_offers(session: SessionDep, _: OperatorDep) -> list[HeldOffer]:
    """Offers held for review because their footprint is far below their peers', oldest first (operator)."""
    offers = service.held(session)
    return [
        HeldOffer(offer=read, hold=offer.plausibility_hold or {})
        for offer, read in zip(offers, offer_service.to_read(session=session, offers=offers), strict=True)
    ]


@router.post("/offers/{offer_id}/plausibility", response_model=HeldOffer)
def decide(
    session: SessionDep, principal: OperatorDep, offer_id: PathId, data: PlausibilityDecision
) -> HeldOffer:
    """Release a held offer or send it back to its vendor as a draft, with a reason (operator)."""
    offer = offer_service.get_editable(session=session, principal=principal, offer_id=offer_id)
    hold = offer.plausibility_hold or {}
    service.decide(session=session, offer=offer, decision=data.decision, reason=data.reason)
    return HeldOffer(offer=offer_service.to_read(session=session, offers=[offer])[0], hold=hold)
