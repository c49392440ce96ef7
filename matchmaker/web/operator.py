"""Pages for the platform operator: organisations (admission, keys) and alliances (memberships).

The rules are the services' (parties, alliances); these pages read forms into the API's request models,
call the same service functions as the API, and show a refused form again with the service's reason.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar, get_args
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from matchmaker.alliances import service as alliance_service
from matchmaker.alliances.schemas import AllianceCreate, MembershipCreate, MembershipUpdate
from matchmaker.db.models import Alliance, Organisation
from matchmaker.deps import DocumentStoreDep, SessionDep
from matchmaker.errors import ValidationFailed
from matchmaker.pact import service as pact_service
from matchmaker.pact.schemas import PactClientCreate
from matchmaker.pagination import PageRequest
from matchmaker.parties import service as party_service
from matchmaker.parties.schemas import (
    REGISTRATION_FIELDS,
    AdmissionStatus,
    KeyCreate,
    OrganisationCreate,
    OrganisationKind,
    OrganisationUpdate,
)
from matchmaker.routing import CheckedRoute
from matchmaker.schema_types import PathId
from matchmaker.web import registration
from matchmaker.web.deps import DocumentFormDep, FormDep, OperatorUserDep
from matchmaker.web.forms import FormErrors, attempt, build, checked, text, values
from matchmaker.web.pages import safe_next
from matchmaker.web.rendering import Pager, WebUser, render

router = APIRouter(route_class=CheckedRoute)
Model = TypeVar("Model", bound=BaseModel)

PER_PAGE = 20
# The membership form offers a list of organisations up to this many; beyond it, the operator types an id.
MAX_CHOICES = 200
KINDS: tuple[str, ...] = get_args(OrganisationKind)
# The operator's own organisation exists from installation; the page creates only the others.
NEW_KINDS = tuple(kind for kind in KINDS if kind != "operator")
ADMISSION_STATUSES: tuple[str, ...] = get_args(AdmissionStatus)
PageNumber = Annotated[int, Query(ge=1, le=1_000_000)]


def refused(request: Request, error: FormErrors) -> dict[str, Any]:
    """What a page needs to show a refused form in the reader's language (`attempt` has rolled back what
    the service did)."""
    return {**error.shown(request, labels="operator.field."), "status": error.status}


def visible_organisation(session: Session, user: WebUser, organisation_id: int) -> Organisation:
    return party_service.get_visible(
        session=session, principal=user.principal, organisation_id=organisation_id
    )


def from_button(model: type[Model], data: dict[str, Any]) -> Model:
    """A button's fixed value as the API's model; only a tampered form fails, shown as an error page."""
    try:
        return build(model, data)
    except FormErrors as error:
        raise ValidationFailed(error.summary) from None


def page_of(
    request: Request, template: str, context: dict[str, Any], *, status: int = 200, **form_state: Any
) -> HTMLResponse:
    """Render with the posted form's values and errors (none when the page is only shown)."""
    context = {"form": {}, "errors": {}, "summary": None, **context, **form_state, "status": status}
    return render(request, template, context, status=status)


# Organisations


@router.get("/organisations")
def organisations(
    request: Request,
    session: SessionDep,
    user: OperatorUserDep,
    page: PageNumber = 1,
    admission: Annotated[str | None, Query(max_length=20)] = None,
    kind: Annotated[str | None, Query(max_length=20)] = None,
    q: Annotated[str, Query(max_length=200)] = "",
) -> HTMLResponse:
    return organisations_page(request, session, user, number=page, admission=admission, kind=kind, q=q)


def organisations_page(
    request: Request,
    session: Session,
    user: WebUser,
    *,
    number: int = 1,
    admission: str | None = None,
    kind: str | None = None,
    q: str = "",
    **form_state: Any,
) -> HTMLResponse:
    # An unknown filter value (an edited URL) shows everything rather than an error.
    admission = admission if admission in ADMISSION_STATUSES else None
    kind = kind if kind in KINDS else None
    items, total = party_service.list_visible(
        session=session,
        principal=user.principal,
        kind=kind,
        admission_status=admission,
        region=None,
        sort="name",
        page=PageRequest(page=number, per_page=PER_PAGE),
        name_contains=q.strip() or None,
    )
    context = {
        "organisations": items,
        "pager": Pager(number=number, per_page=PER_PAGE, total=total),
        "filters": {"admission": admission, "kind": kind, "q": q},
        "kinds": KINDS,
        "new_kinds": NEW_KINDS,
        "admission_statuses": ADMISSION_STATUSES,
    }
    return page_of(request, "operator/organisations.html", context, **form_state)


@router.post("/organisations")
def create_organisation(
    request: Request, session: SessionDep, user: OperatorUserDep, form: FormDep
) -> Response:
    entered = values(form, ["name", "kind", "region", *sorted(REGISTRATION_FIELDS)])
    admitted = checked(form, "admitted")
    try:
        data = build(
            OrganisationCreate, {**entered, "admission_status": "admitted" if admitted else "pending"}
        )
        organisation = attempt(lambda: party_service.create(session=session, data=data), session=session)
    except FormErrors as error:
        shown = {**entered, "admitted": admitted}
        return organisations_page(request, session, user, form=shown, **refused(request, error))
    return RedirectResponse(f"/ui/organisations/{organisation.id}", status_code=303)


@router.post("/organisations/{organisation_id}/admission")
def change_admission(
    request: Request, session: SessionDep, user: OperatorUserDep, form: FormDep, organisation_id: PathId
) -> Response:
    """Admit, suspend, or reject with the reason the applicant will read (refused without one)."""
    organisation = visible_organisation(session, user, organisation_id)
    status = text(form, "admission_status")
    data = from_button(OrganisationUpdate, {"admission_status": status})
    if status == "rejected":
        entered = values(form, ["admission_reason"])
        try:
            data = build(OrganisationUpdate, {"admission_status": status, **entered})
            attempt(
                lambda: party_service.update(
                    session=session, organisation=organisation, data=data, by_operator=True
                ),
                session=session,
            )
        except FormErrors as error:
            shown = error.shown(request, labels="operator.field.")
            return organisation_page(
                request,
                session,
                organisation,
                reject_form=entered,
                refused="reject",
                status=error.status,
                **shown,
            )
        return RedirectResponse(f"/ui/organisations/{organisation_id}", status_code=303)
    party_service.update(session=session, organisation=organisation, data=data, by_operator=True)
    back = safe_next(text(form, "next"), f"/ui/organisations/{organisation_id}")
    return RedirectResponse(back, status_code=303)


@router.post("/organisations/{organisation_id}/registration")
def change_registration(
    request: Request, session: SessionDep, user: OperatorUserDep, form: FormDep, organisation_id: PathId
) -> Response:
    found = visible_organisation(session, user, organisation_id)
    refused = registration.save_registration(
        request, session=session, organisation=found, form=form, by_operator=True
    )
    if refused is not None:
        return organisation_page(request, session, found, **refused)
    return RedirectResponse(f"/ui/organisations/{organisation_id}", status_code=303)


@router.post(
    "/organisations/{organisation_id}/licence",
    dependencies=[DocumentFormDep],
)
def upload_licence(
    request: Request,
    session: SessionDep,
    store: DocumentStoreDep,
    user: OperatorUserDep,
    form: FormDep,
    organisation_id: PathId,
) -> Response:
    found = visible_organisation(session, user, organisation_id)
    refused = registration.save_licence(
        request, session=session, store=store, organisation=found, form=form, by_operator=True
    )
    if refused is not None:
        return organisation_page(request, session, found, **refused)
    return RedirectResponse(f"/ui/organisations/{organisation_id}", status_code=303)


@router.get("/organisations/{organisation_id}/licence")
def licence(
    session: SessionDep, store: DocumentStoreDep, user: OperatorUserDep, organisation_id: PathId
) -> Response:
    found = visible_organisation(session, user, organisation_id)
    return registration.licence_response(session=session, store=store, organisation=found)


@router.get("/organisations/{organisation_id}")
def organisation(
    request: Request, session: SessionDep, user: OperatorUserDep, organisation_id: PathId
) -> HTMLResponse:
    found = visible_organisation(session, user, organisation_id)
    return organisation_page(request, session, found)


def organisation_page(
    request: Request, session: Session, organisation: Organisation, **form_state: Any
) -> HTMLResponse:
    context = {
        "organisation": organisation,
        "memberships": sorted(organisation.memberships, key=lambda m: m.alliance.code),
        "keys": party_service.list_keys(session=session, organisation=organisation),
        "pact_clients": pact_service.list_clients(session=session, organisation=organisation),
        # The roles this kind of organisation may hold a key for, as the service decides.
        "roles": [role for role, kinds in party_service.KINDS_FOR_ROLE.items() if organisation.kind in kinds],
    }
    # `refused` names the one form of the page that was refused, so its errors show there and nowhere else.
    form_state = {
        "registration_form": None,
        "licence_error": None,
        "reject_form": {},
        "refused": None,
        **form_state,
    }
    return page_of(request, "operator/organisation.html", context, **form_state)


@router.post("/organisations/{organisation_id}/keys")
def issue_key(
    request: Request, session: SessionDep, user: OperatorUserDep, form: FormDep, organisation_id: PathId
) -> Response:
    found = visible_organisation(session, user, organisation_id)
    entered = values(form, ["role", "label"])
    try:
        data = build(KeyCreate, entered)
        key, plaintext = attempt(
            lambda: party_service.issue_key(
                session=session, organisation=found, role=data.role, label=data.label
            ),
            session=session,
        )
    except FormErrors as error:
        return organisation_page(
            request, session, found, form=entered, refused="key", **refused(request, error)
        )
    # Rendered here, not redirected to: the plaintext exists only in this response and is never stored.
    return organisation_page(
        request, session, found, status=201, new_key={"key": key, "plaintext": plaintext}
    )


@router.get("/organisations/{organisation_id}/keys")
def after_issuing_key(organisation_id: PathId) -> Response:
    """Where the language switch (or an address copied from the bar) leads after a key was issued."""
    return RedirectResponse(f"/ui/organisations/{organisation_id}", status_code=303)


@router.post("/organisations/{organisation_id}/keys/{key_id}/revoke")
def revoke_key(
    session: SessionDep, user: OperatorUserDep, form: FormDep, organisation_id: PathId, key_id: PathId
) -> Response:
    found = visible_organisation(session, user, organisation_id)
    party_service.revoke_key(session=session, organisation=found, key_id=key_id)
    return RedirectResponse(f"/ui/organisations/{organisation_id}", status_code=303)


@router.post("/organisations/{organisation_id}/pact-clients")
def issue_pact_client(
    request: Request, session: SessionDep, user: OperatorUserDep, form: FormDep, organisation_id: PathId
) -> Response:
    """PACT OAuth credentials for the organisation; the secret is shown on this page once."""
    found = visible_organisation(session, user, organisation_id)
    entered = values(form, ["label", "callback_url", "callback_client_id", "callback_client_secret"])
    try:
        data = build(PactClientCreate, entered)
    except FormErrors as error:
        return organisation_page(
            request, session, found, pact_form=entered, refused="pact", **refused(request, error)
        )
    new = pact_service.create_client(
        session=session, organisation=found, label=data.label,
        callback_url=data.callback_url, callback_client_id=data.callback_client_id,
        callback_client_secret=data.callback_client_secret,
    )  # fmt: skip
    return organisation_page(request, session, found, status=201, new_pact_client=new)


@router.get("/organisations/{organisation_id}/pact-clients")
def after_issuing_pact_client(organisation_id: PathId) -> Response:
    return RedirectResponse(f"/ui/organisations/{organisation_id}", status_code=303)


@router.post("/organisations/{organisation_id}/pact-clients/{client_row_id}/revoke")
def revoke_pact_client(
    session: SessionDep, user: OperatorUserDep, form: FormDep, organisation_id: PathId, client_row_id: PathId
) -> Response:
    found = visible_organisation(session, user, organisation_id)
    pact_service.revoke_client(session=session, organisation=found, client_row_id=client_row_id)
    return RedirectResponse(f"/ui/organisations/{organisation_id}", status_code=303)


# Alliances


@router.get("/alliances")
def alliances(
    request: Request, session: SessionDep, user: OperatorUserDep, page: PageNumber = 1
) -> HTMLResponse:
    return alliances_page(request, session, number=page)


def alliances_page(request: Request, session: Session, *, number: int = 1, **form_state: Any) -> HTMLResponse:
    items, total = alliance_service.list_page(
        session=session, sort="code", page=PageRequest(page=number, per_page=PER_PAGE)
    )
    context = {"alliances": items, "pager": Pager(number=number, per_page=PER_PAGE, total=total)}
    return page_of(request, "operator/alliances.html", context, **form_state)


@router.post("/alliances")
def create_alliance(request: Request, session: SessionDep, user: OperatorUserDep, form: FormDep) -> Response:
    entered = values(form, ["code", "name"])
    try:
        data = build(AllianceCreate, entered)
        alliance = attempt(lambda: alliance_service.create(session=session, data=data), session=session)
    except FormErrors as error:
        return alliances_page(request, session, form=entered, **refused(request, error))
    return RedirectResponse(alliance_url(alliance), status_code=303)


def alliance_url(alliance: Alliance) -> str:
    return f"/ui/alliances/{quote(alliance.code, safe='')}"


@router.get("/alliances/{code}")
def alliance(
    request: Request, session: SessionDep, user: OperatorUserDep, code: str, page: PageNumber = 1
) -> HTMLResponse:
    found = alliance_service.get(session=session, code=code)
    return alliance_page(request, session, user, found, number=page)


def alliance_page(
    request: Request,
    session: Session,
    user: WebUser,
    alliance: Alliance,
    *,
    number: int = 1,
    **form_state: Any,
) -> HTMLResponse:
    members, total = alliance_service.list_memberships(
        session=session,
        principal=user.principal,
        alliance=alliance,
        status=None,
        sort="since",
        page=PageRequest(page=number, per_page=PER_PAGE),
    )
    # Suppliers that are not members yet: buyers, the operator and the members are no choice.
    candidates, count = party_service.list_visible(
        session=session,
        principal=user.principal,
        kind=None,
        admission_status=None,
        region=None,
        sort="name",
        page=PageRequest(page=1, per_page=MAX_CHOICES),
        kinds=party_service.SUPPLIER_KINDS,
        not_member_of=alliance.id,
    )
    context = {
        "alliance": alliance,
        "alliance_url": alliance_url(alliance),
        "members": members,
        "pager": Pager(number=number, per_page=PER_PAGE, total=total),
        # None: too many to list, so the form asks for the organisation's number instead.
        "candidates": candidates if count <= MAX_CHOICES else None,
    }
    return page_of(request, "operator/alliance.html", context, **form_state)


@router.post("/alliances/{code}/members")
def grant_membership(
    request: Request, session: SessionDep, user: OperatorUserDep, form: FormDep, code: str
) -> Response:
    found = alliance_service.get(session=session, code=code)
    entered = values(form, ["organisation_id"])
    try:
        data = build(MembershipCreate, entered)
        attempt(
            lambda: alliance_service.grant(
                session=session,
                principal=user.principal,
                alliance=found,
                organisation_id=data.organisation_id,
            ),
            session=session,
        )
    except FormErrors as error:
        return alliance_page(request, session, user, found, form=entered, **refused(request, error))
    return RedirectResponse(alliance_url(found), status_code=303)


@router.get("/alliances/{code}/members")
def after_granting(code: str) -> Response:
    """Where the language switch leads from a refused membership form, which was shown at this address."""
    return RedirectResponse(f"/ui/alliances/{quote(code, safe='')}", status_code=303)


@router.post("/alliances/{code}/members/{organisation_id}/status")
def change_membership(
    session: SessionDep, user: OperatorUserDep, form: FormDep, code: str, organisation_id: PathId
) -> Response:
    found = alliance_service.get(session=session, code=code)
    data = from_button(MembershipUpdate, {"status": text(form, "status")})
    alliance_service.set_membership_status(
        session=session,
        principal=user.principal,
        alliance=found,
        organisation_id=organisation_id,
        status=data.status,
    )
    return RedirectResponse(safe_next(text(form, "next"), alliance_url(found)), status_code=303)
