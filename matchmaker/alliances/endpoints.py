"""HTTP endpoints for alliances and memberships."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from matchmaker.alliances import service
from matchmaker.alliances.schemas import (
    AllianceCreate,
    AllianceRead,
    AllianceUpdate,
    MembershipCreate,
    MembershipRead,
    MembershipStatus,
    MembershipUpdate,
)
from matchmaker.db.models import Membership
from matchmaker.deps import OperatorDep, PageDep, PrincipalDep, SessionDep
from matchmaker.errors import problem_responses
from matchmaker.pagination import Page
from matchmaker.routing import CheckedRoute
from matchmaker.schema_types import PathId

router = APIRouter(
    route_class=CheckedRoute,
    prefix="/alliances",
    tags=["alliances"],
    responses=problem_responses(401, 403, 404, 409, 422),
)


def _membership_read(membership: Membership) -> MembershipRead:
    return MembershipRead(
        id=membership.id,
        alliance_code=membership.alliance.code,
        organisation_id=membership.organisation_id,
        organisation_name=membership.organisation.name,
        status=membership.status,
        since=membership.since,
        updated_at=membership.updated_at,
    )


@router.get("", response_model=Page[AllianceRead])
def list_alliances(
    session: SessionDep,
    _: PrincipalDep,
    page: PageDep,
    sort: Annotated[str, Query(description="code, name or created_at; prefix - to reverse")] = "code",
) -> Page[AllianceRead]:
    items, total = service.list_page(session=session, sort=sort, page=page)
    return Page.build(items=[AllianceRead.model_validate(a) for a in items], total=total, request=page)


@router.post("", response_model=AllianceRead, status_code=201)
def create_alliance(session: SessionDep, _: OperatorDep, data: AllianceCreate) -> AllianceRead:
    """Create an alliance (operator)."""
    return AllianceRead.model_validate(service.create(session=session, data=data))


@router.get("/{code}", response_model=AllianceRead)
def read_alliance(session: SessionDep, _: PrincipalDep, code: str) -> AllianceRead:
    return AllianceRead.model_validate(service.get(session=session, code=code))


@router.patch("/{code}", response_model=AllianceRead)
def update_alliance(session: SessionDep, _: OperatorDep, code: str, data: AllianceUpdate) -> AllianceRead:
    """Rename an alliance or name its admin organisation (operator)."""
    alliance = service.get(session=session, code=code)
    return AllianceRead.model_validate(service.update(session=session, alliance=alliance, data=data))


@router.get("/{code}/memberships", response_model=Page[MembershipRead])
def list_memberships(
    session: SessionDep,
    principal: PrincipalDep,
    page: PageDep,
    code: str,
    status: MembershipStatus | None = None,
    sort: Annotated[str, Query(description="since or id; prefix - to reverse")] = "since",
) -> Page[MembershipRead]:
    """Active members are public; revoked memberships are shown to the alliance's administrators only."""
    alliance = service.get(session=session, code=code)
    items, total = service.list_memberships(
        session=session, principal=principal, alliance=alliance, status=status, sort=sort, page=page
    )
    return Page.build(items=[_membership_read(m) for m in items], total=total, request=page)


@router.post("/{code}/memberships", response_model=MembershipRead, status_code=201)
def grant_membership(
    session: SessionDep, principal: PrincipalDep, code: str, data: MembershipCreate
) -> MembershipRead:
    """Grant an organisation membership (the operator or the alliance's admin)."""
    alliance = service.get(session=session, code=code)
    membership = service.grant(
        session=session, principal=principal, alliance=alliance, organisation_id=data.organisation_id
    )
    return _membership_read(membership)


@router.patch("/{code}/memberships/{organisation_id}", response_model=MembershipRead)
def update_membership(
    session: SessionDep, principal: PrincipalDep, code: str, organisation_id: PathId, data: MembershipUpdate
) -> MembershipRead:
    """Revoke or re-activate a membership (the operator or the alliance's admin)."""
    alliance = service.get(session=session, code=code)
    membership = service.set_membership_status(
        session=session,
        principal=principal,
        alliance=alliance,
        organisation_id=organisation_id,
        status=data.status,
    )
    return _membership_read(membership)
