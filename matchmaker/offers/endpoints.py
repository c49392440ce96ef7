"""HTTP endpoints for offers."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from matchmaker.deps import IfMatchDep, PageDep, PrincipalDep, SessionDep
from matchmaker.errors import problem_responses
from matchmaker.exchange import Category, OfferKind, OfferStatus, Region
from matchmaker.offers import service
from matchmaker.offers.repository import OfferFilters
from matchmaker.offers.schemas import OfferCreate, OfferRead, OfferUpdate
from matchmaker.pagination import Page
from matchmaker.preconditions import send_tag
from matchmaker.routing import CheckedRoute
from matchmaker.schema_types import PathId, QueryId

router = APIRouter(
    route_class=CheckedRoute,
    prefix="/offers",
    tags=["offers"],
    responses=problem_responses(401, 403, 404, 409, 422),
)


@router.get("", response_model=Page[OfferRead])
def list_offers(
    session: SessionDep,
    principal: PrincipalDep,
    page: PageDep,
    category: Category | None = None,
    kind: OfferKind | None = None,
    region: Annotated[Region | None, Query(description="in this region or one it covers")] = None,
    alliance: Annotated[str | None, Query(description="only suppliers that are active members")] = None,
    verified: Annotated[
        bool | None, Query(description="third-party verified footprints only (or not)")
    ] = None,
    status: Annotated[
        OfferStatus | Literal["held"] | None,
        Query(description="draft, published, archived, or held for the plausibility review"),
    ] = None,
    owner_id: QueryId = None,
    sort: Annotated[
        str, Query(description="created_at, updated_at, title, pcf or id; prefix - to reverse")
    ] = "-created_at",
) -> Page[OfferRead]:
    """List the offers you may see: your own, and published offers of admitted suppliers."""
    filters = OfferFilters(
        category=category,
        kind=kind,
        region=region,
        alliance=alliance,
        verified=verified,
        status=status,
        owner_id=owner_id,
    )
    items, total = service.list_visible(
        session=session, principal=principal, filters=filters, sort=sort, page=page
    )
    return Page.build(items=service.to_read(session=session, offers=items), total=total, request=page)


@router.post("", response_model=OfferRead, status_code=201)
def create_offer(
    session: SessionDep, principal: PrincipalDep, data: OfferCreate, response: Response
) -> OfferRead:
    """List a new offer (a draft unless `status` says published)."""
    offer = service.create(session=session, principal=principal, data=data)
    send_tag(response, offer)
    return service.to_read(session=session, offers=[offer])[0]


@router.get("/{offer_id}", response_model=OfferRead)
def read_offer(
    session: SessionDep, principal: PrincipalDep, offer_id: PathId, response: Response
) -> OfferRead:
    """Read an offer; its `ETag` names this version, for `If-Match` on a change."""
    offer = service.get_visible(session=session, principal=principal, offer_id=offer_id)
    send_tag(response, offer)
    return service.to_read(session=session, offers=[offer])[0]


@router.patch("/{offer_id}", response_model=OfferRead, responses=problem_responses(412))
def update_offer(
    session: SessionDep,
    principal: PrincipalDep,
    offer_id: PathId,
    data: OfferUpdate,
    if_match: IfMatchDep,
    response: Response,
) -> OfferRead:
    """Change, publish (`status: published`) or archive (`status: archived`) an offer.

    With `If-Match`, only if the offer is still at that version (else 412 with the current `ETag`)."""
    offer = service.get_editable(session=session, principal=principal, offer_id=offer_id)
    if_match.require(offer)
    offer = service.update(session=session, offer=offer, data=data, vouched=principal.is_operator)
    send_tag(response, offer)
    return service.to_read(session=session, offers=[offer])[0]


@router.delete("/{offer_id}", status_code=204, responses=problem_responses(412))
def delete_offer(
    session: SessionDep, principal: PrincipalDep, offer_id: PathId, if_match: IfMatchDep
) -> Response:
    """Delete an offer; with `If-Match`, only if it is still at that version."""
    offer = service.get_editable(session=session, principal=principal, offer_id=offer_id)
    if_match.require(offer)
    service.delete(session=session, offer=offer)
    return Response(status_code=204)
