"""Pages for vendors: their offers (list, create, edit, publish, archive), the open needs an offer fits,
and bulk upload of an exchange-format file.

Every rule lives in the services the API uses (offers, imports, matching): a form is read into the API's
own request model, so a page accepts and refuses exactly what the API does, with the same messages.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from matchmaker.alliances import service as alliance_service
from matchmaker.db.models import Offer
from matchmaker.deps import SessionDep
from matchmaker.downloads import attachment
from matchmaker.exchange import CATEGORIES, DATA_QUALITY_FIELDS, OFFER_KINDS, OfferStatus
from matchmaker.imports import service as import_service
from matchmaker.imports import template
from matchmaker.imports.readers import as_drafts, detect_format, read_upload
from matchmaker.imports.schemas import ImportReport, LineError
from matchmaker.offers import service as offer_service
from matchmaker.offers.repository import OfferFilters
from matchmaker.offers.schemas import OfferCreate, OfferUpdate
from matchmaker.pagination import PageRequest
from matchmaker.parties import service as party_service
from matchmaker.plausibility.repository import HELD
from matchmaker.preconditions import require_version
from matchmaker.routing import CheckedRoute
from matchmaker.schema_types import PathId
from matchmaker.units import DECLARED_UNITS
from matchmaker.web.deps import FormDep, ImportFormDep, VendorDep
from matchmaker.web.forms import (
    FormErrors,
    attempt,
    build,
    checked,
    no_errors,
    page_translator,
    phrase,
    posted_file,
    text,
    values,
)
from matchmaker.web.pages import safe_next
from matchmaker.web.rendering import Pager, WebUser, render

router = APIRouter(route_class=CheckedRoute)
PER_PAGE = 20
STATUSES = ("draft", "published", "archived")
TEXT_FIELDS = [
    "title", "description", "language", "kind", "category", "region", "pcf_value", "pcf_unit",
    "declared_unit", "standard", "status", "visibility", "visibility_alliance", *DATA_QUALITY_FIELDS,
]  # fmt: skip
# Both the ASCII comma and the Chinese ones people type in a Chinese input method.
LIST_SEPARATORS = re.compile(r"[,，、;；]")
NOTICES = ("created", "saved", "published", "archived", "evidence", "held", "calculated")


def _owner_filter(user: WebUser) -> int | None:
    """A vendor sees its own offers; the operator, everyone's."""
    return None if user.principal.is_operator else user.principal.organisation_id


@router.get("/offers")
def list_offers(
    request: Request,
    session: SessionDep,
    user: VendorDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    status: Annotated[str | None, Query(pattern="^(draft|published|archived)?$")] = None,
    done: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    offers, total = offer_service.list_visible(
        session=session,
        principal=user.principal,
        filters=OfferFilters(status=status or None, owner_id=_owner_filter(user)),
        sort="-updated_at",
        page=PageRequest(page=page, per_page=PER_PAGE),
    )
    context = {
        "offers": offers,
        "pager": Pager(page, PER_PAGE, total),
        "status": status or "",
        "statuses": STATUSES,
        "done": done if done in NOTICES else None,
    }
    return render(request, "vendor/offers.html", context)


def _alliance_codes(session: Session, user: WebUser) -> list[str]:
    """Suggestions for an alliance-only offer: the alliances the vendor is an active member of."""
    organisation_id = user.principal.organisation_id
    codes = alliance_service.active_codes_by_organisation(session=session, organisation_ids=[organisation_id])
    return codes.get(organisation_id, [])


def _offer_form(
    request: Request, session: Session, user: WebUser, *, offer: Offer | None, form: dict[str, Any],
    errors: FormErrors | None = None,
) -> Response:  # fmt: skip
    context = {
        "offer": offer,
        "form": form,
        **(errors.shown(request, labels="vendor.offer.") if errors else no_errors()),
        "categories": CATEGORIES,
        "kinds": OFFER_KINDS,
        # A new offer starts as a draft or goes straight out; archiving is for an existing one.
        "statuses": STATUSES if offer else STATUSES[:2],
        "alliances": _alliance_codes(session, user),
        # The operator lists an offer on a supplier's behalf, so a new one names its supplier.
        "suppliers": _supplier_options(request, session)
        if user.principal.is_operator and offer is None
        else [],
    }
    return render(request, "vendor/offer_form.html", context, status=errors.status if errors else 200)


def _supplier_options(request: Request, session: Session) -> list[tuple[str, str]]:
    """(id, name) of every organisation that may own an offer; one not admitted says so."""
    t = page_translator(request)
    return [
        (
            str(supplier.id),
            supplier.name
            if supplier.admission_status == "admitted"
            else f"{supplier.name} ({t('operator.admission.' + supplier.admission_status)})",
        )
        for supplier in party_service.suppliers(session=session)
    ]


def _offer_values(offer: Offer) -> dict[str, Any]:
    """An offer as the form shows it."""
    return {
        **{field: getattr(offer, field) for field in TEXT_FIELDS if hasattr(offer, field)},
        "pcf_verified": offer.pcf_verified,
        # Held, it is published as far as its vendor is concerned: saving the form keeps it so (and held).
        "status": "published" if offer.status == HELD else offer.status,
        "certifications": offer.certifications,
        "visibility_alliance": offer.visibility_alliance.code if offer.visibility_alliance else None,
    }


def _posted_offer(form: FormData) -> dict[str, Any]:
    posted = values(form, TEXT_FIELDS)
    posted["pcf_verified"] = checked(form, "pcf_verified")
    posted["certifications"] = [
        part.strip() for part in LIST_SEPARATORS.split(text(form, "certifications") or "") if part.strip()
    ]
    return posted


@router.get("/offers/new")
def new_offer(request: Request, session: SessionDep, user: VendorDep) -> Response:
    blank = {"status": "draft", "visibility": "public", "kind": "product"}
    return _offer_form(request, session, user, offer=None, form=blank)


@router.post("/offers")
def create_offer(request: Request, session: SessionDep, user: VendorDep, form: FormDep) -> Response:
    posted = _posted_offer(form)
    if user.principal.is_operator and (owner := text(form, "owner_id")):
        posted["owner_id"] = owner
    try:
        data = build(OfferCreate, posted)
        offer = attempt(
            lambda: offer_service.create(session=session, principal=user.principal, data=data),
            session=session,
        )
    except FormErrors as errors:
        return _offer_form(request, session, user, offer=None, form=posted, errors=errors)
    return RedirectResponse(f"/ui/offers/{offer.id}?done={_done(offer, 'created')}", status_code=303)


@router.get("/offers/upload")
def upload_form(request: Request, user: VendorDep) -> Response:
    return render(request, "vendor/upload.html", {"report": None, "problem": None, **_accepted()})


@router.get("/offers/upload/template.{extension}")
def upload_template(user: VendorDep, extension: Literal["csv", "xlsx"]) -> Response:
    """The upload's columns with an example row (the workbook also lists what each column accepts)."""
    made = template.template_xlsx if extension == "xlsx" else template.template_csv
    return attachment(made(user.organisation))


def _accepted() -> dict[str, Any]:
    """What the upload's columns accept, shown before a file is chosen."""
    return {"categories": CATEGORIES, "declared_units": tuple(DECLARED_UNITS)}


@router.post("/offers/upload", dependencies=[ImportFormDep])
def upload(request: Request, session: SessionDep, user: VendorDep, form: FormDep) -> Response:
    """Import the file exactly as POST /imports/offers does: good lines land, bad ones are reported."""
    limit: int = request.app.state.settings.max_import_bytes
    posted = posted_file(form, "file", limit=limit)
    if posted is None:
        return _upload_problem(request, "vendor.upload.no_file", status=422)
    body, filename = posted
    content_type = getattr(form.get("file"), "content_type", None)
    if len(body) > limit:
        return _upload_problem(request, "vendor.upload.too_large", status=413, limit=limit)
    try:
        records = attempt(lambda: read_upload(body, detect_format(filename, content_type)))
    except FormErrors as error:
        detail = error.shown(request)["summary"]
        return _upload_problem(request, "vendor.upload.unreadable", status=400, detail=detail)
    if form.get("as_drafts"):
        records = as_drafts(records)
    report = import_service.import_offers(session=session, principal=user.principal, records=records)
    context = {
        "report": report,
        "rejected": _rejected_lines(request, report.errors),
        "warnings": _warnings(request, report),
        "problem": None,
        "filename": filename,
        **_accepted(),
    }
    return render(request, "vendor/upload.html", context)


def _warnings(request: Request, report: ImportReport) -> list[dict[str, Any]]:
    """The report's warnings in the page's language (`english` when it has no words for one)."""
    t = page_translator(request)
    shown = []
    for warning in report.warnings:
        code, named = report.warning_codes.get(warning, (None, {}))
        text = phrase(t, warning, code=code, values=named)
        shown.append({"text": text, "english": t.language == "en" or text == warning})
    return shown


def _rejected_lines(request: Request, errors: list[LineError]) -> list[dict[str, Any]]:
    """The report's rejected lines with their reasons in the page's language (`english` when it has no
    words for one)."""
    t = page_translator(request)
    rows = []
    for error in errors:
        reason = phrase(t, error.message, code=error.code, values=error.values, entries=error.fields)
        english = t.language == "en" or reason == error.message
        rows.append({"line": error.line, "id": error.id, "reason": reason, "english": english})
    return rows


def _upload_problem(request: Request, key: str, *, status: int, **values: object) -> Response:
    context = {"report": None, "problem": {"key": key, "values": values}, **_accepted()}
    return render(request, "vendor/upload.html", context, status=status)


@router.get("/offers/{offer_id}/edit")
def edit_offer(request: Request, session: SessionDep, user: VendorDep, offer_id: PathId) -> Response:
    # Only shows the form: no row lock (saving it takes one).
    offer = offer_service.get_editable(
        session=session, principal=user.principal, offer_id=offer_id, lock=False
    )
    return _offer_form(request, session, user, offer=offer, form=_offer_values(offer))


@router.post("/offers/{offer_id}")
def update_offer(
    request: Request, session: SessionDep, user: VendorDep, form: FormDep, offer_id: PathId
) -> Response:
    offer = offer_service.get_editable(session=session, principal=user.principal, offer_id=offer_id)
    posted = _posted_offer(form)
    # Every field of the form is sent: an emptied field clears it (or is refused if it is required).
    changes = {field: posted.get(field) for field in (*TEXT_FIELDS, "pcf_verified", "certifications")}
    if posted.get("pcf_unit") != offer.pcf_unit and posted.get("declared_unit") == offer.declared_unit:
        del changes["declared_unit"]  # left as it was: derive it again from the new unit, as the API does
    try:
        data = build(OfferUpdate, changes)
        # A form opened on an older version would silently undo the changes made since: refuse it.
        version = text(form, "version")
        attempt(lambda: require_version(version, offer))
        vouched = user.principal.is_operator
        attempt(
            lambda: offer_service.update(session=session, offer=offer, data=data, vouched=vouched),
            session=session,
        )
    except FormErrors as errors:
        return _offer_form(request, session, user, offer=offer, form=posted, errors=errors)
    return RedirectResponse(f"/ui/offers/{offer.id}?done={_done(offer, 'saved')}", status_code=303)


def _set_status(
    session: Session, user: WebUser, form: FormData, offer_id: int, status: OfferStatus
) -> Response:
    offer = offer_service.get_editable(session=session, principal=user.principal, offer_id=offer_id)
    offer_service.update(
        session=session, offer=offer, data=OfferUpdate(status=status), vouched=user.principal.is_operator
    )
    # Back to the page the button was on (the list or the detail), saying what happened (held, perhaps).
    target = safe_next(text(form, "next"), default=f"/ui/offers/{offer.id}")
    separator = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{separator}done={_done(offer, status)}", status_code=303)


def _done(offer: Offer, done: str) -> str:
    """What the notice after a write says: what was done, or that the footprint is held for review."""
    return HELD if offer.status == HELD else done


@router.post("/offers/{offer_id}/publish")
def publish_offer(session: SessionDep, user: VendorDep, form: FormDep, offer_id: PathId) -> Response:
    return _set_status(session, user, form, offer_id, "published")


@router.post("/offers/{offer_id}/archive")
def archive_offer(session: SessionDep, user: VendorDep, form: FormDep, offer_id: PathId) -> Response:
    return _set_status(session, user, form, offer_id, "archived")
