"""HTTP endpoints for needs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from matchmaker.deps import IfMatchDep, PageDep, PrincipalDep, SessionDep
from matchmaker.errors import problem_responses
from matchmaker.exchange import Category, NeedStatus, Region
from matchmaker.needs import service
from matchmaker.needs.repository import NeedFilters
from matchmaker.needs.schemas import NeedCreate, NeedRead, NeedSaved, NeedUpdate
from matchmaker.pagination import Page
from matchmaker.preconditions import send_tag
from matchmaker.routing import CheckedRoute
from matchmaker.schema_types import PathId, QueryId

router = APIRouter(
    route_class=CheckedRoute,
    prefix="/needs",
    tags=["needs"],
    responses=problem_responses(401, 403, 404, 409, 422),
)


@router.get("", response_model=Page[NeedRead])
def list_needs(
    session: SessionDep,
    principal: PrincipalDep,
    page: PageDep,
    category: Category | None = None,
    status: NeedStatus | None = None,
    region: Annotated[Region | None, Query(description="the need's region preference")] = None,
    owner_id: QueryId = None,
    sort: Annotated[
        str, Query(description="created_at, updated_at or id; prefix - to reverse")
    ] = "-created_at",
) -> Page[NeedRead]:
    """List the needs you may see: a buyer its own, an admitted vendor the open needs shared with vendors."""
    filters = NeedFilters(category=category, status=status, region=region, owner_id=owner_id)
    items, total = service.list_visible(
        session=session, principal=principal, filters=filters, sort=sort, page=page
    )
    return Page.build(items=[service.to_read(n) for n in items], total=total, request=page)


@router.post("", response_model=NeedSaved, status_code=201)
def create_need(
    session: SessionDep, principal: PrincipalDep, data: NeedCreate, response: Response
) -> NeedSaved:
    """Post a need.

    A ceiling, verified-only, an alliance or a preferred region that the text states and the fields do not
    comes back in `detected`, with a warning each; it is not applied (send it in a change to apply it)."""
    need = service.create(session=session, principal=principal, data=data)
    send_tag(response, need)
    return service.to_saved(session=session, need=need)


@router.get("/{need_id}", response_model=NeedRead)
def read_need(session: SessionDep, principal: PrincipalDep, need_id: PathId, response: Response) -> NeedRead:
    """Read a need; its `ETag` names this version, for `If-Match` on a change."""
    need = service.get_visible(session=session, principal=principal, need_id=need_id)
    send_tag(response, need)
    return service.to_read(need)


@router.patch("/{need_id}", response_model=NeedSaved, responses=problem_responses(412))
def update_need(
    session: SessionDep,
    principal: PrincipalDep,
    need_id: PathId,
    data: NeedUpdate,
    if_match: IfMatchDep,
    response: Response,
) -> NeedSaved:
    """Change or close (`status: closed`) a need; `detected` and `warnings` as for a new need.

    With `If-Match`, only if the need is still at that version (else 412 with the current `ETag`)."""
    need = service.get_editable(session=session, principal=principal, need_id=need_id)
    if_match.require(need)
    need = service.update(session=session, need=need, data=data)
    send_tag(response, need)
    return service.to_saved(session=session, need=need)


@router.delete("/{need_id}", status_code=204, responses=problem_responses(412))
def delete_need(
    session: SessionDep, principal: PrincipalDep, need_id: PathId, if_match: IfMatchDep
) -> Response:
    """Delete a need; with `If-Match`, only if it is still at that version."""
    need = service.get_editable(session=session, principal=principal, need_id=need_id)
    if_match.require(need)
    service.delete(session=session, need=need)
    return Response(status_code=204)
