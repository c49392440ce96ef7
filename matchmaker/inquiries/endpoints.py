"""HTTP endpoints for inquiries: send one, list and read them, take a step in the thread."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from matchmaker.deps import PageDep, PrincipalDep, SessionDep
from matchmaker.errors import problem_responses
from matchmaker.inquiries import service
from matchmaker.inquiries.schemas import InquiryCreate, InquiryRead, InquirySummary, StepWrite
from matchmaker.inquiries.workflow import Side, Status
from matchmaker.pagination import Page
from matchmaker.routing import CheckedRoute
from matchmaker.schema_types import PathId

router = APIRouter(
    route_class=CheckedRoute,
    prefix="/inquiries",
    tags=["inquiries"],
    responses=problem_responses(401, 403, 404, 409, 422),
)


@router.post("", response_model=InquiryRead, status_code=201)
def send_inquiry(session: SessionDep, principal: PrincipalDep, data: InquiryCreate) -> InquiryRead:
    """Ask a supplier about an offer (with a buyer key): quantity, delivery window, message. Pending until
    the vendor quotes, declines or asks back."""
    inquiry = service.create(session=session, principal=principal, data=data)
    return service.to_read(inquiry, principal=principal)


@router.get("", response_model=Page[InquirySummary])
def list_inquiries(
    session: SessionDep,
    principal: PrincipalDep,
    page: PageDep,
    status: Status | None = None,
    side: Annotated[Side | None, Query(description="buyer: sent; vendor: received")] = None,
) -> Page[InquirySummary]:
    """Your inbox: the inquiries your organisation sent or received, newest activity first."""
    items, total = service.list_visible(
        session=session, principal=principal, status=status, side=side, page=page
    )
    return Page.build(
        items=[service.to_summary(i, principal=principal) for i in items], total=total, request=page
    )


@router.get("/{inquiry_id}", response_model=InquiryRead)
def read_inquiry(session: SessionDep, principal: PrincipalDep, inquiry_id: PathId) -> InquiryRead:
    """An inquiry and its thread: for its two organisations and the operator (404 for anyone else)."""
    inquiry = service.get_visible(session=session, principal=principal, inquiry_id=inquiry_id)
    return service.to_read(inquiry, principal=principal)


@router.post("/{inquiry_id}/messages", response_model=InquiryRead, status_code=201)
def take_step(
    session: SessionDep, principal: PrincipalDep, inquiry_id: PathId, data: StepWrite
) -> InquiryRead:
    """Add to the thread: `message` (either side), `question` (the vendor asks back), `quote` (the vendor:
    price, currency, lead time, the footprint that applies; answered), `decline` (the vendor, with a
    reason; declined), `close` (the buyer: won after a quote, or lost; closed). A step the state does not
    allow answers 409."""
    inquiry = service.take_step(session=session, principal=principal, inquiry_id=inquiry_id, data=data)
    return service.to_read(inquiry, principal=principal)
