"""A buyer's feedback on the pages: each match card marks its offer relevant, not relevant (it leaves the
list; the need's page lists what was dismissed, each with an undo) or contracted."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

from matchmaker.deps import EngineDep, SessionDep
from matchmaker.errors import BadRequest
from matchmaker.feedback import service as feedback_service
from matchmaker.routing import CheckedRoute
from matchmaker.schema_types import PathId
from matchmaker.web.deps import BuyerDep, FormDep
from matchmaker.web.pages import safe_next

router = APIRouter(route_class=CheckedRoute)
VERDICTS = ("relevant", "not_relevant", "contracted")


@router.post("/needs/{need_id}/feedback/{offer_id}")
def give_feedback(
    session: SessionDep, engine: EngineDep, user: BuyerDep, form: FormDep, need_id: PathId, offer_id: PathId
) -> Response:
    verdict = form.get("verdict")
    if verdict == "undo":
        feedback_service.take_back(
            session=session, principal=user.principal, need_id=need_id, offer_id=offer_id
        )
    elif verdict in VERDICTS:
        feedback_service.give(
            session=session, engine=engine, principal=user.principal, need_id=need_id, offer_id=offer_id,
            verdict=verdict,  # type: ignore[arg-type]  # checked against VERDICTS just above
        )  # fmt: skip
    else:
        raise BadRequest("choose relevant, not relevant or contracted")
    target = form.get("next")
    return RedirectResponse(
        safe_next(target if isinstance(target, str) else None, f"/ui/needs/{need_id}"), status_code=303
    )
