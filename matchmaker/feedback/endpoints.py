"""HTTP endpoints for buyers' feedback on a need's matches."""

from __future__ import annotations

from fastapi import APIRouter, Response

from matchmaker.deps import EngineDep, PrincipalDep, SessionDep
from matchmaker.errors import problem_responses
from matchmaker.feedback import service
from matchmaker.feedback.schemas import FeedbackRead, FeedbackWrite
from matchmaker.routing import CheckedRoute
from matchmaker.schema_types import PathId

router = APIRouter(
    route_class=CheckedRoute,
    prefix="/needs/{need_id}/feedback",
    tags=["feedback"],
    responses=problem_responses(401, 403, 404, 422),
)


@router.get("", response_model=list[FeedbackRead])
def list_feedback(session: SessionDep, principal: PrincipalDep, need_id: PathId) -> list[FeedbackRead]:
    """The verdicts given on the need's matches (for its buyer and the operator)."""
    return service.of_need(session=session, principal=principal, need_id=need_id)


@router.put(
    "/{offer_id}",
    response_model=FeedbackRead,
    responses={201: {"model": FeedbackRead, "description": "the first verdict on this offer"}},
)
def give_feedback(
    session: SessionDep, engine: EngineDep, principal: PrincipalDep, need_id: PathId, offer_id: PathId,
    data: FeedbackWrite, response: Response,
) -> FeedbackRead:  # fmt: skip
    """Mark a match relevant, not relevant (it leaves the need's list) or contracted (201 the first time)."""
    entry, created = service.give(
        session=session, engine=engine, principal=principal, need_id=need_id, offer_id=offer_id,
        verdict=data.verdict,
    )  # fmt: skip
    response.status_code = 201 if created else 200
    return service.to_read(entry)


@router.delete("/{offer_id}", status_code=204)
def take_back(session: SessionDep, principal: PrincipalDep, need_id: PathId, offer_id: PathId) -> Response:
    """Take the verdict back: an offer marked not relevant returns to the need's list."""
    service.take_back(session=session, principal=principal, need_id=need_id, offer_id=offer_id)
    return Response(status_code=204)
