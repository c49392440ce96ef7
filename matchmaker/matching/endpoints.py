"""HTTP endpoints for matching: the buyer's view, the vendor's view, and free-text search."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from matchmaker.deps import EngineDep, PrincipalDep, ReadsOnly, SessionDep
from matchmaker.errors import problem_responses
from matchmaker.exchange import Category, FootprintUnitText, OfferKind, Region
from matchmaker.matching import needs_search, service
from matchmaker.matching.schemas import (
    NeedMatches,
    NeedSearchRequest,
    NeedSearchResults,
    OfferMatches,
    SearchRequest,
)
from matchmaker.routing import CheckedRoute
from matchmaker.schema_types import PathId, PlainQueryNumber

router = APIRouter(
    route_class=CheckedRoute, tags=["matching"], responses=problem_responses(401, 403, 404, 409, 422)
)
LimitQuery = Annotated[int, Query(ge=1, le=100, description="how many matches at most")]


@router.get("/needs/{need_id}/matches", response_model=OfferMatches)
def need_matches(
    session: SessionDep,
    engine: EngineDep,
    principal: PrincipalDep,
    need_id: PathId,
    limit: LimitQuery = 10,
    category: Annotated[list[Category] | None, Query(description="only these categories (hard)")] = None,
    kind: Annotated[list[OfferKind] | None, Query(description="only these kinds (hard)")] = None,
    region: Annotated[
        list[Region] | None,
        Query(description="only these regions, or the regions they cover (hard)", max_length=50),
    ] = None,
    certification: Annotated[
        str | None, Query(max_length=200, description="a certification to require")
    ] = None,
    max_pcf: Annotated[float | None, PlainQueryNumber, Query(allow_inf_nan=False, ge=-1e12, le=1e12)] = None,
    max_pcf_unit: Annotated[
        FootprintUnitText | None, Query(description="with max_pcf: try another ceiling")
    ] = None,
    require_verified: Annotated[bool | None, Query(description="true: verified footprints only")] = None,
    require_third_party: Annotated[
        bool | None, Query(description="true: footprints verified by a third party only")
    ] = None,
    min_primary_share: Annotated[
        float | None,
        PlainQueryNumber,
        Query(ge=0, le=100, allow_inf_nan=False, description="at least this primary data share (%)"),
    ] = None,
    sort: Annotated[
        service.MatchOrder,
        Query(description="score (default), footprint (lowest first), headroom (most), abatement (most)"),
    ] = "score",
    page: Annotated[
        int, Query(ge=1, le=100, description="the page, `limit` matches to a page (the first 100 matches)")
    ] = 1,
) -> OfferMatches:
    """Offers that fit the need, best first, each explained; never one that fails a hard filter.

    With no qualifying offer, `matches` is empty, `no_match_reason` says why, and `near_misses` lists the
    nearest relevant offers that failed a filter, with the filters they failed.
    """
    refinement = service.Refinement(
        categories=frozenset(category or ()),
        kinds=frozenset(kind or ()),
        regions=frozenset(region or ()),
        certification=certification,
        max_pcf=max_pcf,
        max_pcf_unit=max_pcf_unit,
        require_verified=require_verified,
        require_third_party=require_third_party,
        min_primary_share=min_primary_share,
    )
    with engine.matching_slots:
        return service.match_need(
            session=session,
            engine=engine,
            principal=principal,
            need_id=need_id,
            refinement=refinement,
            limit=limit,
            order=sort,
            page=page,
        )


@router.get("/offers/{offer_id}/matches", response_model=NeedMatches)
def offer_matches(
    session: SessionDep, engine: EngineDep, principal: PrincipalDep, offer_id: PathId, limit: LimitQuery = 10
) -> NeedMatches:
    """Open needs the offer fits (it passes their hard filters and their buyers may see it), best first."""
    with engine.matching_slots:
        return service.match_offer(
            session=session, engine=engine, principal=principal, offer_id=offer_id, limit=limit
        )


@router.post("/search", response_model=OfferMatches, dependencies=[ReadsOnly])
def search(
    session: SessionDep, engine: EngineDep, principal: PrincipalDep, request: SearchRequest
) -> OfferMatches:
    """Free-text search (Chinese or English) over the offers you may see, under optional hard filters."""
    with engine.matching_slots:
        return service.search(session=session, engine=engine, principal=principal, request=request)


@router.post("/needs/search", response_model=NeedSearchResults, dependencies=[ReadsOnly])
def search_needs(
    session: SessionDep, engine: EngineDep, principal: PrincipalDep, request: NeedSearchRequest
) -> NeedSearchResults:
    """Free-text search (Chinese or English) over the open needs you may see: vendors the needs shared
    with vendors and their own organisation's, buyers their own, the operator all."""
    with engine.matching_slots:
        return needs_search.search_needs(session=session, engine=engine, principal=principal, request=request)
