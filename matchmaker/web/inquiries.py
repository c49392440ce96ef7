"""Inquiries on the pages: a buyer asks a supplier about an offer, both sides' inboxes, and the thread with
the steps the reader may take now (`inquiries.workflow`). Every rule is the API's (`inquiries.service`):
a form is read into the API's own request model."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from matchmaker.deps import SessionDep
from matchmaker.inquiries import service as inquiry_service
from matchmaker.inquiries.schemas import InquiryCreate, StepWrite
from matchmaker.inquiries.workflow import STATUSES, Side
from matchmaker.needs import service as need_service
from matchmaker.offers import service as offer_service
from matchmaker.pagination import PageRequest
from matchmaker.routing import CheckedRoute
from matchmaker.schema_types import MAX_ID, PathId
from matchmaker.web.deps import BuyerDep, FormDep, WebUserDep
from matchmaker.web.forms import FormErrors, attempt, build, no_errors, values
from matchmaker.web.rendering import Pager, WebUser, render

router = APIRouter(route_class=CheckedRoute)
PER_PAGE = 20
INQUIRY_FIELDS = [
    "offer_id",
    "need_id",
    "message",
    "quantity",
    "quantity_unit",
    "delivery_from",
    "delivery_until",
]
STEP_FIELDS = [
    "kind", "body", "price", "currency", "price_unit", "lead_time_days", "pcf_value", "pcf_unit", "outcome",
]  # fmt: skip


@router.get("/inquiries")
def inbox(
    request: Request, session: SessionDep, user: WebUserDep,
    side: Annotated[Side | None, Query()] = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:  # fmt: skip
    chosen = status if status in STATUSES else None
    items, total = inquiry_service.list_visible(
        session=session, principal=user.principal, status=chosen, side=side,
        page=PageRequest(page=page, per_page=PER_PAGE),
    )  # fmt: skip
    context = {
        "inquiries": [inquiry_service.to_summary(i, principal=user.principal) for i in items],
        "side": side,
        "status": chosen,
        "statuses": STATUSES,
        "pager": Pager(number=page, per_page=PER_PAGE, total=total),
    }
    return render(request, "inquiries/inbox.html", context)


@router.get("/inquiries/new")
def new_inquiry(
    request: Request, session: SessionDep, user: BuyerDep,
    offer: Annotated[int, Query(ge=1, le=MAX_ID)],
    need: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:  # fmt: skip
    return _inquiry_form(request, session, user, form={"offer_id": offer, "need_id": need})


@router.post("/inquiries")
def send_inquiry(request: Request, session: SessionDep, user: BuyerDep, form: FormDep) -> Response:
    posted = values(form, INQUIRY_FIELDS)
    try:
        data = build(InquiryCreate, posted)
        inquiry = attempt(
            lambda: inquiry_service.create(session=session, principal=user.principal, data=data),
            session=session,
        )
    except FormErrors as errors:
        return _inquiry_form(request, session, user, form=posted, errors=errors)
    return RedirectResponse(f"/ui/inquiries/{inquiry.id}", status_code=303)


def _inquiry_form(
    request: Request,
    session: Session,
    user: WebUser,
    *,
    form: dict[str, Any],
    errors: FormErrors | None = None,
) -> Response:
    offer_id = _as_id(form.get("offer_id"))
    if offer_id is None:  # a form without its offer did not come from an offer's page
        return RedirectResponse("/ui/inquiries", status_code=303)
    offer = offer_service.get_visible(session=session, principal=user.principal, offer_id=offer_id)
    context = {
        "offer": offer,
        "needs": need_service.own_open(session=session, principal=user.principal),
        "form": form,
        **(errors.shown(request, labels="inquiry.field.") if errors else no_errors()),
    }
    return render(request, "inquiries/new.html", context, status=errors.status if errors else 200)


def _as_id(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 1 <= number <= MAX_ID else None


@router.get("/inquiries/{inquiry_id}")
def thread(request: Request, session: SessionDep, user: WebUserDep, inquiry_id: PathId) -> Response:
    return _thread(request, session, user, inquiry_id)


def _thread(
    request: Request, session: Session, user: WebUser, inquiry_id: int, *,
    form: dict[str, Any] | None = None, errors: FormErrors | None = None,
) -> Response:  # fmt: skip
    inquiry = inquiry_service.get_visible(session=session, principal=user.principal, inquiry_id=inquiry_id)
    context = {
        "inquiry": inquiry_service.to_read(inquiry, principal=user.principal),
        "form": form or {},
        **(errors.shown(request, labels="inquiry.field.") if errors else no_errors()),
    }
    return render(request, "inquiries/thread.html", context, status=errors.status if errors else 200)


@router.post("/inquiries/{inquiry_id}/steps")
def take_step(
    request: Request, session: SessionDep, user: WebUserDep, form: FormDep, inquiry_id: PathId
) -> Response:
    posted = values(form, STEP_FIELDS)
    try:
        data = build(StepWrite, posted)
        attempt(
            lambda: inquiry_service.take_step(
                session=session, principal=user.principal, inquiry_id=inquiry_id, data=data
            ),
            session=session,
        )
    except FormErrors as errors:
        return _thread(request, session, user, inquiry_id, form=posted, errors=errors)
    return RedirectResponse(f"/ui/inquiries/{inquiry_id}#latest", status_code=303)
