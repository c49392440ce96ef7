"""The operator's API for PACT OAuth clients: issue (secret shown once), list, revoke."""

from __future__ import annotations

from fastapi import APIRouter, Response

from matchmaker.deps import OperatorDep, SessionDep
from matchmaker.errors import NotFound, problem_responses
from matchmaker.pact import service
from matchmaker.pact.schemas import PactClientCreate, PactClientCreated, PactClientRead
from matchmaker.parties import service as party_service
from matchmaker.routing import CheckedRoute
from matchmaker.schema_types import PathId

router = APIRouter(
    route_class=CheckedRoute,
    prefix="/organisations/{organisation_id}/pact-clients",
    tags=["PACT OAuth clients"],
    responses=problem_responses(401, 403, 404, 422),
)


@router.post("", response_model=PactClientCreated, status_code=201)
def create_pact_client(
    session: SessionDep, operator: OperatorDep, organisation_id: PathId, data: PactClientCreate
) -> PactClientCreated:
    """Issue PACT client credentials for an organisation (operator). The secret is in this response only."""
    organisation = party_service.get_visible(
        session=session, principal=operator, organisation_id=organisation_id
    )
    new = service.create_client(
        session=session, organisation=organisation, label=data.label,
        callback_url=data.callback_url, callback_client_id=data.callback_client_id,
        callback_client_secret=data.callback_client_secret,
    )  # fmt: skip
    return PactClientCreated.model_validate(
        {**PactClientRead.model_validate(new.client).model_dump(), "client_secret": new.secret}
    )


@router.get("", response_model=list[PactClientRead])
def list_pact_clients(
    session: SessionDep, operator: OperatorDep, organisation_id: PathId
) -> list[PactClientRead]:
    organisation = party_service.get_visible(
        session=session, principal=operator, organisation_id=organisation_id
    )
    return [
        PactClientRead.model_validate(c)
        for c in service.list_clients(session=session, organisation=organisation)
    ]


@router.delete("/{client_row_id}", status_code=204)
def revoke_pact_client(
    session: SessionDep, operator: OperatorDep, organisation_id: PathId, client_row_id: PathId
) -> Response:
    """Revoke a client: its tokens stop working at once."""
    organisation = party_service.get_visible(
        session=session, principal=operator, organisation_id=organisation_id
    )
    if not service.revoke_client(session=session, organisation=organisation, client_row_id=client_row_id):
        raise NotFound(f"PACT client {client_row_id} not found")
    return Response(status_code=204)
