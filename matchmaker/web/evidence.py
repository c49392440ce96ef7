"""Verification evidence on the pages: the vendor files it on its offer's page (the details and the report in
one form); the operator works the review queue (/ui/evidence), accepting or rejecting with a reason; anyone
who may see the offer reads the accepted evidence and its report. The rules are `evidence.service`'s."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from matchmaker.deps import DocumentStoreDep, SessionDep
from matchmaker.downloads import document_response
from matchmaker.evidence import service as evidence_service
from matchmaker.evidence.schemas import EvidenceCreate, EvidenceReview
from matchmaker.offers import service as offer_service
from matchmaker.routing import CheckedRoute
from matchmaker.schema_types import PathId
from matchmaker.web.deps import DocumentFormDep, FormDep, OperatorUserDep, WebUserDep
from matchmaker.web.forms import FormErrors, attempt, build, posted_file, values
from matchmaker.web.rendering import render

router = APIRouter(route_class=CheckedRoute)
EVIDENCE_FIELDS = [
    "verifier", "accreditation", "party", "report_number", "standard", "verified_on", "valid_until"
]  # fmt: skip
FIELD_LABELS = "evidence.field."


@router.post("/offers/{offer_id}/evidence", dependencies=[DocumentFormDep])
def submit(
    request: Request,
    session: SessionDep,
    store: DocumentStoreDep,
    user: WebUserDep,
    form: FormDep,
    offer_id: PathId,
) -> Response:
    """The evidence and its report together: refused whole (the form shown again) or kept whole."""
    offer = offer_service.get_editable(session=session, principal=user.principal, offer_id=offer_id)
    entered = values(form, EVIDENCE_FIELDS)
    limit: int = request.app.state.settings.max_document_bytes
    posted = posted_file(form, "document", limit=limit)
    try:
        data = build(EvidenceCreate, entered)

        def file_it() -> None:
            evidence = evidence_service.submit(session=session, offer=offer, data=data)
            if posted is not None:
                evidence_service.attach_document(
                    session=session, store=store, evidence=evidence, content=posted[0],
                    filename=posted[1], limit=limit,
                )  # fmt: skip

        attempt(file_it, session=session)
    except FormErrors as error:
        shown = error.shown(request, labels=FIELD_LABELS)
        return _refused(request, offer_id, entered, shown, error.status)
    return RedirectResponse(f"/ui/offers/{offer_id}?done=evidence#evidence", status_code=303)


def _refused(
    request: Request, offer_id: int, entered: dict[str, Any], shown: dict[str, Any], status: int
) -> HTMLResponse:
    context = {"offer_id": offer_id, "form": entered, **shown}
    return render(request, "evidence_refused.html", context, status=status)


@router.get("/offers/{offer_id}/evidence/{evidence_id}/document")
def document(
    session: SessionDep, store: DocumentStoreDep, user: WebUserDep, offer_id: PathId, evidence_id: PathId
) -> FileResponse:
    offer = offer_service.get_visible(session=session, principal=user.principal, offer_id=offer_id)
    evidence = evidence_service.get_readable(
        session=session, principal=user.principal, offer=offer, evidence_id=evidence_id
    )
    return document_response(
        store, evidence_service.document_of(session=session, store=store, evidence=evidence)
    )


@router.get("/evidence")
def review_queue(request: Request, session: SessionDep, user: OperatorUserDep) -> HTMLResponse:
    return _queue_page(request, session)


def _queue_page(request: Request, session: SessionDep, **form_state: Any) -> HTMLResponse:
    context = {"queue": evidence_service.queue(session=session), "errors": {}, "summary": None, **form_state}
    return render(request, "operator/evidence.html", context, status=form_state.get("status", 200))


@router.post("/evidence/{evidence_id}/review")
def review(
    request: Request, session: SessionDep, user: OperatorUserDep, form: FormDep, evidence_id: PathId
) -> Response:
    evidence = evidence_service.get(session=session, evidence_id=evidence_id)
    entered = values(form, ["decision", "reason"])
    try:
        data = build(EvidenceReview, entered)
        attempt(
            lambda: evidence_service.review(session=session, evidence=evidence, data=data), session=session
        )
    except FormErrors as error:
        shown = error.shown(request, labels=FIELD_LABELS)
        return _queue_page(request, session, refused=evidence_id, status=error.status, **shown)
    return RedirectResponse(f"/ui/evidence?done={data.decision}", status_code=303)
