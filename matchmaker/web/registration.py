"""An organisation's registration on the pages: its unified social credit code, business licence and
contact, and where its admission stands (a rejection with the operator's reason).

The organisation edits its own at /ui/organisation; the operator edits anyone's on the organisation's page
(`web.operator`). Both go through `save_registration` and `save_licence`, which call the same service
functions as the API: a rejected applicant that corrects either is pending again.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from matchmaker.db.models import Organisation
from matchmaker.deps import DocumentStoreDep, SessionDep
from matchmaker.documents.store import DocumentStore
from matchmaker.downloads import document_response
from matchmaker.parties import service as party_service
from matchmaker.parties.schemas import REGISTRATION_FIELDS, OrganisationUpdate
from matchmaker.routing import CheckedRoute
from matchmaker.web.deps import DocumentFormDep, FormDep, WebUserDep
from matchmaker.web.forms import FormErrors, attempt, build, posted_file, text
from matchmaker.web.rendering import WebUser, render

router = APIRouter(route_class=CheckedRoute)
FIELD_LABELS = "operator.field."
# What `?done=` may announce after a save (any other value is ignored, not printed).
SAVED_NOTICES = ("saved", "licence")


def save_registration(
    request: Request, *, session: Session, organisation: Organisation, form: FormData, by_operator: bool
) -> dict[str, Any] | None:
    """Save the posted registration; None when saved, else the form state to show again with its errors."""
    entered = {name: text(form, name) for name in sorted(REGISTRATION_FIELDS)}
    try:
        data = build(OrganisationUpdate, entered)
        attempt(
            lambda: party_service.update(
                session=session, organisation=organisation, data=data, by_operator=by_operator
            ),
            session=session,
        )
    except FormErrors as error:
        shown = error.shown(request, labels=FIELD_LABELS)
        return {"registration_form": entered, "refused": "registration", "status": error.status, **shown}
    return None


def save_licence(
    request: Request,
    *,
    session: Session,
    store: DocumentStore,
    organisation: Organisation,
    form: FormData,
    by_operator: bool,
) -> dict[str, Any] | None:
    """Keep the posted licence; None when kept, else the form state with the reason it was refused."""
    limit: int = request.app.state.settings.max_document_bytes
    content, filename = posted_file(form, "licence", limit=limit) or (b"", None)
    try:
        attempt(
            lambda: party_service.attach_licence(
                session=session,
                store=store,
                organisation=organisation,
                content=content,
                filename=filename,
                limit=limit,
                by_operator=by_operator,
            ),
            session=session,
        )
    except FormErrors as error:
        shown = error.shown(request, labels=FIELD_LABELS)
        return {"licence_error": shown["summary"], "status": error.status}
    return None


def licence_response(*, session: Session, store: DocumentStore, organisation: Organisation) -> FileResponse:
    licence = party_service.licence_of(session=session, store=store, organisation=organisation)
    return document_response(store, licence)


# The organisation's own page


def _own(session: Session, user: WebUser) -> Organisation:
    return party_service.get_own(session=session, principal=user.principal)


def own_page(request: Request, organisation: Organisation, **form_state: Any) -> HTMLResponse:
    context = {
        "organisation": organisation,
        "registration_form": None,
        "errors": {},
        "summary": None,
        "licence_error": None,
        "saved": done if (done := request.query_params.get("done")) in SAVED_NOTICES else None,
        **form_state,
    }
    return render(request, "organisation.html", context, status=form_state.get("status", 200))


@router.get("/organisation")
def own_organisation(request: Request, session: SessionDep, user: WebUserDep) -> HTMLResponse:
    return own_page(request, _own(session, user))


@router.post("/organisation/registration")
def update_own_registration(
    request: Request, session: SessionDep, user: WebUserDep, form: FormDep
) -> Response:
    organisation = _own(session, user)
    refused = save_registration(
        request, session=session, organisation=organisation, form=form, by_operator=user.principal.is_operator
    )
    if refused is not None:
        return own_page(request, organisation, **refused)
    return RedirectResponse("/ui/organisation?done=saved", status_code=303)


@router.post("/organisation/licence", dependencies=[DocumentFormDep])
def upload_own_licence(
    request: Request, session: SessionDep, store: DocumentStoreDep, user: WebUserDep, form: FormDep
) -> Response:
    organisation = _own(session, user)
    refused = save_licence(
        request,
        session=session,
        store=store,
        organisation=organisation,
        form=form,
        by_operator=user.principal.is_operator,
    )
    if refused is not None:
        return own_page(request, organisation, **refused)
    return RedirectResponse("/ui/organisation?done=licence", status_code=303)


@router.get("/organisation/licence")
def own_licence(session: SessionDep, store: DocumentStoreDep, user: WebUserDep) -> FileResponse:
    return licence_response(session=session, store=store, organisation=_own(session, user))
