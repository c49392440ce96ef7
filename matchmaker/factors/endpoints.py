"""HTTP endpoints of the factor library: its versions, and its factors with their sources."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from matchmaker.deps import PageDep, PrincipalDep, SessionDep
from matchmaker.errors import problem_responses
from matchmaker.factors import service
from matchmaker.factors.schemas import FactorKind, FactorRead, LibraryRead
from matchmaker.pagination import Page
from matchmaker.routing import CheckedRoute

router = APIRouter(
    prefix="/factors",
    route_class=CheckedRoute,
    tags=["factor library"],
    responses=problem_responses(401, 404, 422),
)


@router.get("/libraries", response_model=list[LibraryRead])
def libraries(session: SessionDep, _: PrincipalDep) -> list[LibraryRead]:
    """The library versions loaded, oldest first."""
    return [LibraryRead.model_validate(library) for library in service.libraries(session=session)]


@router.get("", response_model=Page[FactorRead])
def factors(
    session: SessionDep,
    _: PrincipalDep,
    page: PageDep,
    version: Annotated[
        str | None, Query(max_length=32, description="a library version; the latest by default")
    ] = None,
    kind: FactorKind | None = None,
    region: Annotated[str | None, Query(max_length=100)] = None,
    year: Annotated[int | None, Query(ge=1990, le=2100)] = None,
) -> Page[FactorRead]:
    """The factors of a library version, by key, each with the document, table and licence it comes from."""
    rows, total = service.factors(
        session=session, version=version, kind=kind, region=region, year=year, page=page
    )
    return Page.build(items=[FactorRead.model_validate(row) for row in rows], total=total, request=page)
