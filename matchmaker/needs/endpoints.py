"""HTTP endpoints for needs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from matchmaker.deps import PageDep, PrincipalDep, SessionDep
from matchmaker.errors import problem_responses
from matchmaker.exchange import Category, NeedStatus
from matchmaker.needs import service
from matchmaker.needs.repository import NeedFilters
from matchmaker.needs.schemas import NeedCreate, NeedRead, NeedUpdate
from matchmaker.pagination import Page
from matchmaker.schema_types import PathId, QueryId

router = APIRouter(prefix="/needs", tags=["needs"], responses=problem_responses(401, 403, 404, 409, 422))


@router.get("", response_model=Page[NeedRead])
def list_needs(
    session: SessionDep,
    principal: PrincipalDep,
    page: PageDep,
    category: Category | None = None,
    status: NeedStatus | None = None,
    region: Annotated[str | None, Query(description="the need's region preference")] = None,
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


@router.post("", response_model=NeedRead, status_code=201)
def create_need(session: SessionDep, principal: PrincipalDep, data: NeedCreate) -> NeedRead:
    """Post a need."""
    return service.to_read(service.create(session=session, principal=principal, data=data))


@router.get("/{need_id}", response_model=NeedRead)
def read_need(session: SessionDep, principal: PrincipalDep, need_id: PathId) -> NeedRead:
    return service.to_read(service.get_visible(session=session, principal=principal, need_id=need_id))


@router.patch("/{need_id}", response_model=NeedRead)
def update_need(session: SessionDep, principal: PrincipalDep, need_id: PathId, data: NeedUpdate) -> NeedRead:
    """Change or close (`status: closed`) a need."""
    need = service.get_editable(session=session, principal=principal, need_id=need_id)
    return service.to_read(service.update(session=session, need=need, data=data))


@router.delete("/{need_id}", status_code=204)
def delete_need(session: SessionDep, principal: PrincipalDep, need_id: PathId) -> Response:
    need = service.get_editable(session=session, principal=principal, need_id=need_id)
    service.delete(session=session, need=need)
    return Response(status_code=204)
