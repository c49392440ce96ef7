"""Alliances and memberships: who may grant, who may see."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from matchmaker.alliances import repository
from matchmaker.alliances.schemas import AllianceCreate, AllianceUpdate
from matchmaker.auth import Principal
from matchmaker.db.base import utcnow
from matchmaker.db.models import Alliance, Membership
from matchmaker.errors import Conflict, Forbidden, NotFound, ValidationFailed, field_error
from matchmaker.pagination import PageRequest
from matchmaker.parties import repository as parties


def get(*, session: Session, code: str) -> Alliance:
    alliance = repository.get_by_code(session, code)
    if alliance is None:
        raise NotFound(f"alliance {code!r} not found")
    return alliance


def may_administer(principal: Principal, alliance: Alliance) -> bool:
    """The operator administers every alliance; an alliance's admin organisation administers its own."""
    return principal.is_operator or alliance.admin_organisation_id == principal.organisation_id


def _check_admin_organisation(session: Session, organisation_id: int | None) -> None:
    if organisation_id is not None and parties.get(session, organisation_id) is None:
        code, number = "organisation.not_found", str(organisation_id)
        raise ValidationFailed(
            f"organisation {organisation_id} does not exist",
            errors=[field_error("admin_organisation_id", "no such organisation", code=code, id=number)],
            code=code,
            values={"id": number},
        )


def create(*, session: Session, data: AllianceCreate) -> Alliance:
    if repository.get_by_code(session, data.code) is not None:
        raise Conflict(
            f"alliance {data.code!r} already exists", code="alliance.exists", values={"code": data.code}
        )
    _check_admin_organisation(session, data.admin_organisation_id)
    return repository.add(session, Alliance(**data.model_dump()))


def update(*, session: Session, alliance: Alliance, data: AllianceUpdate) -> Alliance:
    changes = data.model_dump(exclude_unset=True)
    if "name" in changes and changes["name"] is None:
        raise ValidationFailed(
            "name cannot be null",
            errors=[field_error("name", "cannot be null", code="field.null", field="name")],
            code="field.null",
            values={"field": "name"},
        )
    if "admin_organisation_id" in changes:
        _check_admin_organisation(session, changes["admin_organisation_id"])
    for field, value in changes.items():
        setattr(alliance, field, value)
    session.flush()
    return alliance


def existing_id(*, session: Session, code: str, field: str) -> int:
    """The id of the alliance with this code; a validation error on `field` when there is none."""
    alliance = repository.get_by_code(session, code)
    if alliance is None:
        raise ValidationFailed(
            f"alliance {code!r} does not exist",
            errors=[field_error(field, "no such alliance", code="alliance.not_found", alliance=code)],
            code="alliance.not_found",
            values={"alliance": code},
        )
    return alliance.id


def ensure(*, session: Session, code: str) -> Alliance:
    """Find an alliance by code or create it with the code as its name (bulk import)."""
    alliance = repository.get_by_code(session, code)
    if alliance is None:
        alliance = repository.add(session, Alliance(code=code, name=code))
    return alliance


def list_page(*, session: Session, sort: str, page: PageRequest) -> tuple[Sequence[Alliance], int]:
    return repository.list_page(session, sort=sort, page=page)


def list_memberships(
    *,
    session: Session,
    principal: Principal,
    alliance: Alliance,
    status: str | None,
    sort: str,
    page: PageRequest,
) -> tuple[Sequence[Membership], int]:
    """Active memberships are public; revoked ones only the alliance's administrators see."""
    if not may_administer(principal, alliance):
        if status == "revoked":
            return [], 0
        status = "active"
    return repository.list_memberships(session, alliance_id=alliance.id, status=status, sort=sort, page=page)


def grant(*, session: Session, principal: Principal, alliance: Alliance, organisation_id: int) -> Membership:
    """Grant (or re-activate) an organisation's membership; never self-declared by a vendor."""
    if not may_administer(principal, alliance):
        raise Forbidden(f"only the operator or the admin of {alliance.code} may grant its memberships")
    if parties.get(session, organisation_id) is None:
        code, number = "organisation.not_found", str(organisation_id)
        raise ValidationFailed(
            f"organisation {organisation_id} does not exist",
            errors=[field_error("organisation_id", "no such organisation", code=code, id=number)],
            code=code,
            values={"id": number},
        )
    membership = repository.get_membership(session, alliance_id=alliance.id, organisation_id=organisation_id)
    if membership is None:
        return repository.add_membership(
            session, Membership(alliance_id=alliance.id, organisation_id=organisation_id, status="active")
        )
    if membership.status != "active":
        membership.status = "active"
        membership.since = utcnow()
        session.flush()
    return membership


def ensure_membership(*, session: Session, alliance: Alliance, organisation_id: int) -> bool:
    """Create a membership if none exists (bulk import by the operator); never re-activate a revoked one.

    Returns whether a membership was created.
    """
    if repository.get_membership(session, alliance_id=alliance.id, organisation_id=organisation_id):
        return False
    repository.add_membership(
        session, Membership(alliance_id=alliance.id, organisation_id=organisation_id, status="active")
    )
    return True


def set_membership_status(
    *, session: Session, principal: Principal, alliance: Alliance, organisation_id: int, status: str
) -> Membership:
    if not may_administer(principal, alliance):
        raise Forbidden(f"only the operator or the admin of {alliance.code} may change its memberships")
    membership = repository.get_membership(session, alliance_id=alliance.id, organisation_id=organisation_id)
    if membership is None:
        raise NotFound(f"organisation {organisation_id} has no membership of {alliance.code}")
    if membership.status != status:
        membership.status = status
        if status == "active":
            membership.since = utcnow()
        session.flush()
    return membership


def active_alliance_ids(*, session: Session, organisation_id: int) -> list[int]:
    return repository.active_alliance_ids(session, organisation_id)


def known_codes(*, session: Session) -> list[str]:
    """The codes of every alliance on the platform (what a need's text may name)."""
    return repository.codes(session)


def active_codes_by_organisation(
    *, session: Session, organisation_ids: Sequence[int]
) -> dict[int, list[str]]:
    return repository.active_codes_by_organisation(session, organisation_ids)
