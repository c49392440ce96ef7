"""HTTP endpoints for a need's shortlist: keep, drop, read, export."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from matchmaker.deps import EngineDep, PrincipalDep, SessionDep
from matchmaker.downloads import attachment
from matchmaker.errors import problem_responses
from matchmaker.routing import CheckedRoute
from matchmaker.schema_types import PathId
from matchmaker.shortlists import export, service
from matchmaker.shortlists.schemas import Shortlist, ShortlistEntryRead, ShortlistEntryWrite

router = APIRouter(
    route_class=CheckedRoute,
    prefix="/needs/{need_id}/shortlist",
    tags=["shortlists"],
    responses=problem_responses(401, 403, 404, 409, 422),
)
_FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the shortlist, as JSON or as a file",
        "content": {media: {} for media in export.MEDIA_TYPES.values()},
    }
}


@router.get("", response_model=Shortlist, responses=_FILE_RESPONSES)
def read_shortlist(
    session: SessionDep,
    engine: EngineDep,
    principal: PrincipalDep,
    need_id: PathId,
    format: Annotated[
        Literal["json", "csv", "xlsx"], Query(description="json, or a file: csv or xlsx")
    ] = "json",
    lang: Annotated[Literal["en", "zh"], Query(description="the language of a file's headings")] = "en",
) -> Shortlist | Response:
    """The need's shortlist: each offer's footprint in one unit against the ceiling, its match score now
    and the buyer's note. For its buyer and the operator (404 for anyone else)."""
    if format == "json":
        need = service.get_need(session=session, principal=principal, need_id=need_id)
        return service.shortlist(session=session, engine=engine, principal=principal, need=need)
    return attachment(
        service.shortlist_download(
            session=session, engine=engine, principal=principal, need_id=need_id, fmt=format, language=lang
        )
    )


@router.put(
    "/{offer_id}",
    response_model=ShortlistEntryRead,
    responses={201: {"model": ShortlistEntryRead, "description": "put on the shortlist"}},
)
def keep_offer(
    session: SessionDep,
    principal: PrincipalDep,
    need_id: PathId,
    offer_id: PathId,
    response: Response,
    data: ShortlistEntryWrite | None = None,
) -> ShortlistEntryRead:
    """Put an offer on the shortlist (201), or replace its note (200)."""
    entry, created = service.keep(
        session=session,
        principal=principal,
        need_id=need_id,
        offer_id=offer_id,
        note=data.note if data else "",
    )
    response.status_code = 201 if created else 200
    return ShortlistEntryRead.model_validate(entry)


@router.delete("/{offer_id}", status_code=204)
def drop_offer(session: SessionDep, principal: PrincipalDep, need_id: PathId, offer_id: PathId) -> Response:
    """Take an offer off the shortlist."""
    service.drop(session=session, principal=principal, need_id=need_id, offer_id=offer_id)
    return Response(status_code=204)
