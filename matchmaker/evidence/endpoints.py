"""HTTP endpoints for verification evidence: the vendor files it under its offer, the operator reviews it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse

from matchmaker.deps import (
    DocumentBodyDep,
    DocumentStoreDep,
    OperatorDep,
    PrincipalDep,
    SessionDep,
    SettingsDep,
)
from matchmaker.documents.service import ACCEPTED_MEDIA_TYPES
from matchmaker.downloads import DOCUMENT_BODY, document_response
from matchmaker.errors import problem_responses
from matchmaker.evidence import service
from matchmaker.evidence.schemas import EvidenceCreate, EvidenceRead, EvidenceReview
from matchmaker.offers import service as offer_service
from matchmaker.routing import CheckedRoute
from matchmaker.schema_types import PathId

router = APIRouter(
    route_class=CheckedRoute,
    tags=["verification evidence"],
    responses=problem_responses(401, 403, 404, 409, 422),
)


@router.post("/offers/{offer_id}/evidence", response_model=EvidenceRead, status_code=201)
def submit_evidence(
    session: SessionDep, principal: PrincipalDep, offer_id: PathId, data: EvidenceCreate
) -> EvidenceRead:
    """File evidence that the offer's footprint, as it stands, was verified (its vendor or the operator).
    Until the operator accepts it, the footprint counts as self-declared."""
    offer = offer_service.get_editable(session=session, principal=principal, offer_id=offer_id)
    return EvidenceRead.model_validate(service.submit(session=session, offer=offer, data=data))


@router.get("/offers/{offer_id}/evidence", response_model=list[EvidenceRead])
def list_evidence(session: SessionDep, principal: PrincipalDep, offer_id: PathId) -> list[EvidenceRead]:
    """The offer's evidence: all of it for its vendor and the operator, the accepted for anyone who may see
    the offer."""
    offer = offer_service.get_visible(session=session, principal=principal, offer_id=offer_id)
    return [
        EvidenceRead.model_validate(e)
        for e in service.readable(session=session, principal=principal, offer=offer)
    ]


@router.put(
    "/offers/{offer_id}/evidence/{evidence_id}/document",
    response_model=EvidenceRead,
    openapi_extra=DOCUMENT_BODY,
    responses=problem_responses(413),
)
def upload_evidence_document(
    session: SessionDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    store: DocumentStoreDep,
    offer_id: PathId,
    evidence_id: PathId,
    body: DocumentBodyDep,
    filename: Annotated[str | None, Query(max_length=255, description="the name to download it as")] = None,
) -> EvidenceRead:
    """The verification report or certificate (a PDF or an image) as the request body, before review."""
    offer = offer_service.get_editable(session=session, principal=principal, offer_id=offer_id)
    evidence = service.get_readable(
        session=session, principal=principal, offer=offer, evidence_id=evidence_id
    )
    attached = service.attach_document(
        session=session, store=store, evidence=evidence, content=body, filename=filename,
        limit=settings.max_document_bytes,
    )  # fmt: skip
    return EvidenceRead.model_validate(attached)


@router.get(
    "/offers/{offer_id}/evidence/{evidence_id}/document",
    response_class=FileResponse,
    responses={200: {"content": {media: {} for media in ACCEPTED_MEDIA_TYPES}}},
)
def download_evidence_document(
    session: SessionDep,
    principal: PrincipalDep,
    store: DocumentStoreDep,
    offer_id: PathId,
    evidence_id: PathId,
) -> FileResponse:
    """The report behind the evidence, to whoever may read the evidence (others 404)."""
    offer = offer_service.get_visible(session=session, principal=principal, offer_id=offer_id)
    evidence = service.get_readable(
        session=session, principal=principal, offer=offer, evidence_id=evidence_id
    )
    return document_response(store, service.document_of(session=session, store=store, evidence=evidence))


@router.get("/evidence", response_model=list[EvidenceRead])
def review_queue(session: SessionDep, _: OperatorDep) -> list[EvidenceRead]:
    """Evidence awaiting review, oldest first (operator)."""
    return [EvidenceRead.model_validate(e) for e in service.queue(session=session)]


@router.post("/evidence/{evidence_id}/review", response_model=EvidenceRead)
def review_evidence(
    session: SessionDep, _: OperatorDep, evidence_id: PathId, data: EvidenceReview
) -> EvidenceRead:
    """Accept the evidence (the offer's footprint is then verified until its `valid_until`) or reject it
    with a reason (operator)."""
    evidence = service.get(session=session, evidence_id=evidence_id)
    return EvidenceRead.model_validate(service.review(session=session, evidence=evidence, data=data))
