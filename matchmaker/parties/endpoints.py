"""HTTP endpoints for organisations and their API keys."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import FileResponse

from matchmaker.deps import (
    DocumentBodyDep,
    DocumentStoreDep,
    OperatorDep,
    PageDep,
    PrincipalDep,
    SessionDep,
    SettingsDep,
)
from matchmaker.documents.service import ACCEPTED_MEDIA_TYPES
from matchmaker.downloads import DOCUMENT_BODY, document_response
from matchmaker.errors import problem_responses
from matchmaker.exchange import Region
from matchmaker.pagination import Page
from matchmaker.parties import service
from matchmaker.parties.schemas import (
    AdmissionStatus,
    KeyCreate,
    KeyCreated,
    KeyRead,
    OrganisationCreate,
    OrganisationKind,
    OrganisationRead,
    OrganisationUpdate,
)
from matchmaker.routing import CheckedRoute
from matchmaker.schema_types import PathId

router = APIRouter(
    route_class=CheckedRoute,
    prefix="/organisations",
    tags=["organisations"],
    responses=problem_responses(401, 403, 404, 409, 422),
)


@router.get("", response_model=Page[OrganisationRead])
def list_organisations(
    session: SessionDep,
    principal: PrincipalDep,
    page: PageDep,
    kind: OrganisationKind | None = None,
    admission_status: AdmissionStatus | None = None,
    region: Annotated[Region | None, Query(description="in this region or one it covers")] = None,
    sort: Annotated[
        str, Query(description="name, created_at, updated_at or id; prefix - to reverse")
    ] = "name",
) -> Page[OrganisationRead]:
    """List organisations: all of them for the operator, your own for everyone else."""
    items, total = service.list_visible(
        session=session,
        principal=principal,
        kind=kind,
        admission_status=admission_status,
        region=region,
        sort=sort,
        page=page,
    )
    return Page.build(items=[OrganisationRead.model_validate(o) for o in items], total=total, request=page)


@router.get("/me", response_model=OrganisationRead)
def read_own_organisation(session: SessionDep, principal: PrincipalDep) -> OrganisationRead:
    """The organisation of the calling key."""
    return OrganisationRead.model_validate(service.get_own(session=session, principal=principal))


@router.post("", response_model=OrganisationRead, status_code=201)
def create_organisation(session: SessionDep, _: OperatorDep, data: OrganisationCreate) -> OrganisationRead:
    """Register an organisation (operator)."""
    return OrganisationRead.model_validate(service.create(session=session, data=data))


@router.get("/{organisation_id}", response_model=OrganisationRead)
def read_organisation(
    session: SessionDep, principal: PrincipalDep, organisation_id: PathId
) -> OrganisationRead:
    organisation = service.get_visible(session=session, principal=principal, organisation_id=organisation_id)
    return OrganisationRead.model_validate(organisation)


@router.patch("/{organisation_id}", response_model=OrganisationRead)
def update_organisation(
    session: SessionDep, principal: PrincipalDep, organisation_id: PathId, data: OrganisationUpdate
) -> OrganisationRead:
    """Change an organisation: admit, reject (with a reason) or suspend it, or anything else (operator);
    correct its own registration (the organisation itself; a rejected one is pending again)."""
    organisation = service.get_visible(session=session, principal=principal, organisation_id=organisation_id)
    changed = service.update(
        session=session, organisation=organisation, data=data, by_operator=principal.is_operator
    )
    return OrganisationRead.model_validate(changed)


@router.put(
    "/{organisation_id}/licence",
    response_model=OrganisationRead,
    openapi_extra=DOCUMENT_BODY,
    responses=problem_responses(413),
)
def upload_licence(
    session: SessionDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    store: DocumentStoreDep,
    organisation_id: PathId,
    body: DocumentBodyDep,
    filename: Annotated[str | None, Query(max_length=255, description="the name to download it as")] = None,
) -> OrganisationRead:
    """Upload the business licence (营业执照), a PDF or an image, as the request body; it replaces the one
    there was. The operator and the organisation itself may."""
    organisation = service.get_visible(session=session, principal=principal, organisation_id=organisation_id)
    changed = service.attach_licence(
        session=session,
        store=store,
        organisation=organisation,
        content=body,
        filename=filename,
        limit=settings.max_document_bytes,
        by_operator=principal.is_operator,
    )
    return OrganisationRead.model_validate(changed)


@router.get(
    "/{organisation_id}/licence",
    response_class=FileResponse,
    responses={200: {"content": {media: {} for media in ACCEPTED_MEDIA_TYPES}}},
)
def download_licence(
    session: SessionDep, principal: PrincipalDep, store: DocumentStoreDep, organisation_id: PathId
) -> FileResponse:
    """The business licence as it was uploaded: to the operator and the organisation itself (others 404)."""
    organisation = service.get_visible(session=session, principal=principal, organisation_id=organisation_id)
    return document_response(
        store, service.licence_of(session=session, store=store, organisation=organisation)
    )


@router.post("/{organisation_id}/keys", response_model=KeyCreated, status_code=201)
def create_key(
    session: SessionDep, operator: OperatorDep, organisation_id: PathId, data: KeyCreate
) -> KeyCreated:
    """Issue an API key (operator). The key is in this response only; store it now."""
    organisation = service.get_visible(session=session, principal=operator, organisation_id=organisation_id)
    key, plaintext = service.issue_key(
        session=session, organisation=organisation, role=data.role, label=data.label
    )
    return KeyCreated.model_validate({**KeyRead.model_validate(key).model_dump(), "key": plaintext})


@router.get("/{organisation_id}/keys", response_model=list[KeyRead])
def list_keys(session: SessionDep, principal: PrincipalDep, organisation_id: PathId) -> list[KeyRead]:
    """List an organisation's keys (prefixes only; secrets are never shown again)."""
    organisation = service.get_visible(session=session, principal=principal, organisation_id=organisation_id)
    return [KeyRead.model_validate(k) for k in service.list_keys(session=session, organisation=organisation)]


@router.delete("/{organisation_id}/keys/{key_id}", status_code=204)
def revoke_key(
    session: SessionDep, principal: PrincipalDep, organisation_id: PathId, key_id: PathId
) -> Response:
    """Revoke a key: the operator any, an organisation its own."""
    organisation = service.get_visible(session=session, principal=principal, organisation_id=organisation_id)
    service.revoke_key(session=session, organisation=organisation, key_id=key_id)
    return Response(status_code=204)
