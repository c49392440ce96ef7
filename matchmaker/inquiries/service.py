"""Inquiries and quotes: a buyer asks about an offer, the vendor quotes, declines or asks back, the buyer
closes the thread as won or lost (`inquiries.workflow`). The two organisations and the operator see it
(`inquiries.visibility`); each side acts with its own keys (a buyer key for the buyer, a vendor key for the
vendor); the operator reads and takes no part."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from matchmaker.auth import Principal
from matchmaker.db.base import utcnow
from matchmaker.db.models import Inquiry, InquiryMessage, Organisation
from matchmaker.errors import Conflict, Forbidden, NotFound
from matchmaker.inquiries import repository, visibility, workflow
from matchmaker.inquiries.schemas import (
    InquiryCreate,
    InquiryRead,
    InquirySummary,
    MessageRead,
    PartyRead,
    StepWrite,
)
from matchmaker.inquiries.workflow import Side
from matchmaker.needs import repository as need_repository
from matchmaker.offers import repository as offer_repository
from matchmaker.offers import visibility as offer_visibility
from matchmaker.pagination import PageRequest
from matchmaker.parties import service as party_service
from matchmaker.units import parse_unit

# A thread is a conversation, not a chat log: past this, start a new inquiry.
MAX_MESSAGES = 500


def create(*, session: Session, principal: Principal, data: InquiryCreate) -> Inquiry:
    """Send an inquiry about an offer the caller may see, for one of its own needs or none."""
    if principal.role != "buyer":
        raise Forbidden("inquiries are sent with a buyer key")
    viewer = party_service.viewer_of(session=session, principal=principal)
    offer = offer_repository.get(session, data.offer_id)
    if offer is None or not offer_visibility.can_see(viewer, offer):
        raise NotFound(f"offer {data.offer_id} not found")
    if offer.owner_id == principal.organisation_id:
        raise Conflict("this offer is your own organisation's: there is nobody to ask")
    if not offer_visibility.can_match(viewer, offer):
        raise Conflict(f"offer {offer.id} is not published: it takes no inquiries")
    if data.need_id is not None:
        need = need_repository.get(session, data.need_id)
        if need is None or need.owner_id != principal.organisation_id:
            raise NotFound(f"need {data.need_id} not found")
    inquiry = repository.add(
        session,
        Inquiry(
            buyer_id=principal.organisation_id,
            vendor_id=offer.owner_id,
            offer_id=offer.id,
            need_id=data.need_id,
            offer_title=offer.title,
            quantity=data.quantity,
            quantity_unit=data.quantity_unit,
            delivery_from=data.delivery_from,
            delivery_until=data.delivery_until,
            status="pending",
            messages=[InquiryMessage(author_id=principal.organisation_id, kind="inquiry", body=data.message)],
        ),
    )
    return inquiry


def get_visible(*, session: Session, principal: Principal, inquiry_id: int, lock: bool = False) -> Inquiry:
    """An inquiry the caller may see, or 404 (also for one that exists but is not theirs)."""
    inquiry = repository.get(session, inquiry_id, lock=lock)
    if inquiry is None or not visibility.can_see(
        party_service.viewer_of(session=session, principal=principal), inquiry
    ):
        raise NotFound(f"inquiry {inquiry_id} not found")
    return inquiry


def list_visible(
    *, session: Session, principal: Principal, status: str | None, side: Side | None, page: PageRequest
) -> tuple[Sequence[Inquiry], int]:
    """The caller's inquiries (the operator's: all), newest activity first; `side` keeps those where the
    caller is the buyer or the vendor."""
    viewer = party_service.viewer_of(session=session, principal=principal)
    party = None
    if side == "buyer":
        party = Inquiry.buyer_id == principal.organisation_id
    elif side == "vendor":
        party = Inquiry.vendor_id == principal.organisation_id
    return repository.list_page(
        session, visibility=visibility.seen_where(viewer), status=status, party=party, page=page
    )


def side_of(principal: Principal, inquiry: Inquiry) -> Side | None:
    """The side the caller's organisation is on (None for the operator or a stranger)."""
    if principal.organisation_id == inquiry.buyer_id:
        return "buyer"
    if principal.organisation_id == inquiry.vendor_id:
        return "vendor"
    return None


def _acting_side(principal: Principal, inquiry: Inquiry) -> Side | None:
    """The side the caller may act for: its organisation's side, with a key of that side's role."""
    side = side_of(principal, inquiry)
    return side if side is not None and principal.role == side else None


def take_step(*, session: Session, principal: Principal, inquiry_id: int, data: StepWrite) -> Inquiry:
    """Add a message, a question, a quote, a decline or the close to the thread, moving its state."""
    inquiry = get_visible(session=session, principal=principal, inquiry_id=inquiry_id, lock=True)
    side = _acting_side(principal, inquiry)
    if side is None:
        raise Forbidden(
            "the operator reads inquiries and takes no part"
            if principal.is_operator
            else f"act for the {side_of(principal, inquiry)} with a {side_of(principal, inquiry)} key"
        )
    if len(inquiry.messages) >= MAX_MESSAGES:
        raise Conflict(f"this thread has {MAX_MESSAGES} messages: start a new inquiry")
    outcome = data.outcome
    try:
        leads_to = workflow.check(data.kind, side=side, status=inquiry.status, outcome=outcome)
    except workflow.StepRefused as refused:
        raise Conflict(str(refused)) from None
    inquiry.messages.append(
        InquiryMessage(
            author_id=principal.organisation_id,
            kind=data.kind,
            body=data.body,
            price=data.price,
            currency=data.currency,
            price_unit=data.price_unit,
            lead_time_days=data.lead_time_days,
            pcf_value=data.pcf_value,
            pcf_unit=str(parse_unit(data.pcf_unit)) if data.pcf_unit else None,
        )
    )
    if leads_to is not None:
        inquiry.status = leads_to
    if outcome is not None:
        inquiry.outcome = outcome
    inquiry.updated_at = utcnow()  # a new message is activity, whether or not the state moved
    session.flush()
    return inquiry


def _party(organisation: Organisation) -> PartyRead:
    return PartyRead(id=organisation.id, name=organisation.name)


def to_summary(inquiry: Inquiry, *, principal: Principal) -> InquirySummary:
    acting = _acting_side(principal, inquiry)
    return InquirySummary(
        id=inquiry.id,
        status=inquiry.status,
        outcome=inquiry.outcome,
        buyer=_party(inquiry.buyer),
        vendor=_party(inquiry.vendor),
        offer_id=inquiry.offer_id,
        offer_title=inquiry.offer_title,
        need_id=inquiry.need_id,
        quantity=inquiry.quantity,
        quantity_unit=inquiry.quantity_unit,
        delivery_from=inquiry.delivery_from,
        delivery_until=inquiry.delivery_until,
        created_at=inquiry.created_at,
        updated_at=inquiry.updated_at,
        your_side=side_of(principal, inquiry),
        next_steps=workflow.next_steps(side=acting, status=inquiry.status) if acting else [],
    )


def to_read(inquiry: Inquiry, *, principal: Principal) -> InquiryRead:
    return InquiryRead(
        **to_summary(inquiry, principal=principal).model_dump(),
        messages=[
            MessageRead.model_validate(
                {
                    **{f: getattr(m, f) for f in MessageRead.model_fields if f != "author"},
                    "author": _party(m.author),
                }
            )
            for m in inquiry.messages
        ],
    )
