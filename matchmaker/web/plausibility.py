"""The operator's plausibility review on the pages (/ui/plausibility): each held offer with its footprint
drawn against what it was compared with, released or sent back with a reason. The rules are
`plausibility.service`'s."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from matchmaker.deps import SessionDep
from matchmaker.offers import service as offer_service
from matchmaker.plausibility import service as plausibility
from matchmaker.plausibility.schemas import PlausibilityDecision
from matchmaker.routing import CheckedRoute
from matchmaker.schema_types import PathId
from matchmaker.web.deps import FormDep, OperatorUserDep
from matchmaker.web.forms import FormErrors, attempt, build, values
from matchmaker.web.rendering import render

router = APIRouter(route_class=CheckedRoute)
WIDTH, MARGIN = 600.0, 20.0


@dataclass(frozen=True, slots=True)
class Mark:
    x: float
    value: float
    label: str


@dataclass(frozen=True, slots=True)
class Drawing:
    """Positions on a log axis (0..WIDTH) of the held footprint, its threshold and reference, its peers and
    the sector's quantiles."""

    candidate: Mark
    threshold: Mark | None
    reference: Mark | None
    peers: list[Mark]
    quantiles: list[Mark]
    ticks: list[Mark]


def _positive(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) and value > 0 else None


def drawing(hold: dict[str, Any]) -> Drawing | None:
    """Where each value of a hold sits on one log scale; None for a hold without numbers. Values that
    cannot be drawn (not positive, not finite) are left out."""
    candidate = _positive(hold.get("intensity"))
    if candidate is None:
        return None
    quantiles = {
        name: value
        for name, value in (
            (name, _positive(value)) for name, value in (hold.get("sector_quantiles") or {}).items()
        )
        if value is not None and re.fullmatch(r"p\d\d", str(name))
    }
    peers = [
        (str(peer.get("title", "")), _positive(peer.get("intensity"))) for peer in hold.get("peers") or []
    ]
    drawn_peers = [(title, value) for title, value in peers if value is not None]
    threshold, reference = _positive(hold.get("threshold")), _positive(hold.get("reference_value"))
    numbers = [candidate, *quantiles.values(), *(value for _, value in drawn_peers)]
    numbers += [value for value in (threshold, reference) if value is not None]
    low, high = math.floor(math.log10(min(numbers))), math.ceil(math.log10(max(numbers)))
    high = max(high, low + 1)

    def mark(value: float, label: str = "") -> Mark:
        share = (math.log10(value) - low) / (high - low)
        return Mark(round(MARGIN + share * (WIDTH - 2 * MARGIN), 1), value, label)

    return Drawing(
        candidate=mark(candidate),
        threshold=mark(threshold) if threshold is not None else None,
        reference=mark(reference) if reference is not None else None,
        peers=[mark(value, title) for title, value in drawn_peers],
        # "p02" -> "2": the page says which percentile in its own language.
        quantiles=[mark(value, str(int(name[1:]))) for name, value in sorted(quantiles.items())],
        ticks=[mark(10.0**power, f"{10.0**power:g}") for power in range(low, high + 1)],
    )


@router.get("/plausibility")
def queue(request: Request, session: SessionDep, user: OperatorUserDep) -> HTMLResponse:
    return _queue_page(request, session)


def _queue_page(request: Request, session: SessionDep, **form_state: Any) -> HTMLResponse:
    held = plausibility.held(session)
    items = [
        {
            "offer": read,
            "hold": offer.plausibility_hold or {},
            "drawing": drawing(offer.plausibility_hold or {}),
        }
        for offer, read in zip(held, offer_service.to_read(session=session, offers=held), strict=True)
    ]
    context = {"items": items, "errors": {}, "summary": None, **form_state}
    return render(request, "operator/plausibility.html", context, status=form_state.get("status", 200))


@router.post("/offers/{offer_id}/plausibility")
def decide(
    request: Request, session: SessionDep, user: OperatorUserDep, form: FormDep, offer_id: PathId
) -> Response:
    offer = offer_service.get_editable(session=session, principal=user.principal, offer_id=offer_id)
    entered = values(form, ["decision", "reason"])
    try:
        data = build(PlausibilityDecision, entered)
        attempt(
            lambda: plausibility.decide(
                session=session, offer=offer, decision=data.decision, reason=data.reason
            ),
            session=session,
        )
    except FormErrors as error:
        shown = error.shown(request, labels="plausibility.field.")
        return _queue_page(request, session, refused=offer_id, status=error.status, **shown)
    return RedirectResponse(f"/ui/plausibility?done={data.decision}", status_code=303)
