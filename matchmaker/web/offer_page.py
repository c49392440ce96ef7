"""An offer's page, for every organisation that may see the offer (`offers.visibility`): what it is, its
footprint and how it was declared, its supplier; opened from a need (`?need=`), why it is or is not a match
for that need, with the buyer's next steps (shortlist, inquiry). Its supplier and the operator also see the
open needs it fits, and may change it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from matchmaker.alliances import repository as alliance_repository
from matchmaker.db.models import Offer
from matchmaker.deps import EngineDep, SessionDep
from matchmaker.errors import NotFound
from matchmaker.evidence import service as evidence_service
from matchmaker.matching import service as matching
from matchmaker.matching.engine import Engine
from matchmaker.matching.schemas import NearMiss, OfferMatch
from matchmaker.matching.visibility import can_see_matches
from matchmaker.offers import service as offer_service
from matchmaker.pact.filters import validity_window
from matchmaker.parties import service as party_service
from matchmaker.routing import CheckedRoute
from matchmaker.schema_types import MAX_ID, PathId
from matchmaker.shortlists import service as shortlist_service
from matchmaker.web.deps import WebUserDep
from matchmaker.web.rendering import WebUser, format_number, render
from matchmaker.web.vendor import NOTICES

router = APIRouter(route_class=CheckedRoute)
# The domain's reasons for an empty match list, by the message key that says it in the user's language.
NO_MATCH_KEYS = {
    "no open need fits this offer": "vendor.matches.none_fit",
    "no open need is relevant enough": "vendor.matches.none_relevant",
}
# How far down a need's matches an offer opened from it is looked for (the most a match list shows).
MATCHES_LOOKED_AT = 100
# Facts from an offer's attributes shown on its page; an import may carry any number of them.
MAX_FACTS = 30


@router.get("/offers/{offer_id}")
def offer_page(
    request: Request, session: SessionDep, engine: EngineDep, user: WebUserDep, offer_id: PathId,
    need: Annotated[int | None, Query(ge=1, le=MAX_ID, description="the need it was opened from")] = None,
    done: Annotated[str | None, Query(max_length=16)] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="how many fitting needs to show")] = 20,
) -> Response:  # fmt: skip
    offer = offer_service.get_visible(session=session, principal=user.principal, offer_id=offer_id)
    viewer = party_service.viewer_of(session=session, principal=user.principal)
    owner = offer.owner
    context = {
        "offer": offer_service.to_read(session=session, offers=[offer])[0],
        "supplier": owner,
        "supplier_alliances": alliance_repository.active_codes_by_organisation(session, [owner.id]).get(
            owner.id, []
        ),
        "facts": _facts(offer),
        "evidence": evidence_service.readable(session=session, principal=user.principal, offer=offer),
        "history": offer_service.history(session=session, principal=user.principal, offer=offer),
        "declared": _declared(offer),
        "fitting": None,
        "editable": user.principal.is_operator
        or (user.role == "vendor" and offer.owner_id == user.principal.organisation_id),
        "done": done if done in NOTICES else None,
        **_from_need(session, engine, user, offer, need),
    }
    # The needs an offer fits are its supplier's (and the operator's) to see, as in the API.
    if can_see_matches(viewer, offer):
        with engine.matching_slots:
            fitting = matching.match_offer(
                session=session, engine=engine, principal=user.principal, offer_id=offer.id, limit=limit
            )
        context["fitting"] = fitting
        context["no_match_key"] = NO_MATCH_KEYS.get(fitting.no_match_reason or "")
    return render(request, "offer.html", context)


def _from_need(
    session: Session, engine: Engine, user: WebUser, offer: Offer, need_id: int | None
) -> dict[str, object]:
    """The need the page was opened from, and the offer's place in that need's matches (its match, its
    near miss, or neither); nothing when the caller may not see the need's matches."""
    if need_id is None:
        return {}
    try:
        need = shortlist_service.get_need(session=session, principal=user.principal, need_id=need_id)
    except NotFound:
        return {}  # a link from someone else's need: the offer page alone
    with engine.matching_slots:
        matches = matching.match_need(
            session=session, engine=engine, principal=user.principal, need_id=need.id,
            refinement=matching.Refinement(), limit=MATCHES_LOOKED_AT,
        )  # fmt: skip
    match: OfferMatch | None = next((m for m in matches.matches if m.offer.id == offer.id), None)
    miss: NearMiss | None = next((m for m in matches.near_misses if m.offer.id == offer.id), None)
    return {
        "need": need,
        "match": match,
        "miss": miss,
        "shortlisted": offer.id in shortlist_service.shortlisted_ids(session=session, need=need),
        "may_shortlist": shortlist_service.is_its_buyer(user.principal, need),
    }


def _declared(offer: Offer) -> dict[str, str | None]:
    """How the footprint was declared, where its source said: the reference period, the end of its
    validity (PACT's rule: its own end, else three years after the reference period, `validity_window`)
    and the system boundary, from the PACT footprint the offer was pulled from; None where it did not
    say, or the offer came from elsewhere."""
    pulled = (offer.attributes or {}).get("pact")
    footprint = pulled.get("footprint") if isinstance(pulled, dict) else None
    if not isinstance(footprint, dict):
        return dict.fromkeys(("reference_period", "valid_until", "system_boundary"))
    stated = footprint.get("pcf")
    pcf: dict[str, Any] = stated if isinstance(stated, dict) else {}
    start, end = pcf.get("referencePeriodStart"), pcf.get("referencePeriodEnd")
    _, valid_until = validity_window(footprint)
    boundary = pcf.get("boundaryProcessesDescription")
    return {
        "reference_period": f"{start[:10]} – {end[:10]}"
        if isinstance(start, str) and isinstance(end, str)
        else None,
        "valid_until": valid_until.date().isoformat() if valid_until else None,
        "system_boundary": boundary.strip() if isinstance(boundary, str) and boundary.strip() else None,
    }


def _facts(offer: Offer) -> list[tuple[str, str]]:
    """The offer's further facts from its source (reporting year, industry, weight ...), those that read
    as one value; nested data stays in the API's `attributes`."""
    return [
        (name, format_number(value) if isinstance(value, float) else str(value))
        for name, value in offer.attributes.items()
        if isinstance(value, str | int | float) and not isinstance(value, bool) and str(value).strip()
    ][:MAX_FACTS]
